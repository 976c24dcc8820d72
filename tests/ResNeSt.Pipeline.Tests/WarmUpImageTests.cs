using System.Buffers.Binary;
using ResNeSt.Pipeline.ModelLoading;

namespace ResNeSt.Pipeline.Tests;

/// <summary>The warm-up image is committed bytes: the pipeline leaves encoding (and decoding) images to the Inference layer.</summary>
public sealed class WarmUpImageTests
{
    [Fact]
    public void The_warm_up_image_is_an_embedded_64_by_48_png_and_the_pipeline_has_no_image_library_of_its_own()
    {
        var png = ModelRuntime.WarmUpImage;
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        Assert.Equal((64u, 48u), (BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20))));
        Assert.DoesNotContain(
            typeof(ModelRuntime).Assembly.GetReferencedAssemblies(),
            reference => reference.Name!.StartsWith("SixLabors.", StringComparison.Ordinal));
    }
}
