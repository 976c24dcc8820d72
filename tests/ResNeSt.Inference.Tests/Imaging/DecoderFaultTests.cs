#pragma warning disable CA2201 // the exceptions a decoder or the runtime throws are what is classified here
using ResNeSt.Inference.Imaging;
using SixLabors.ImageSharp.Memory;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>Which decoder exceptions become a (permanent) rejection of the image, and which are not the image's fault.</summary>
public sealed class DecoderFaultTests
{
    [Fact]
    public void A_genuine_OutOfMemoryException_is_not_reported_as_a_corrupt_image()
    {
        Assert.False(ImageSharpDecoding.IsDecoderFault(new OutOfMemoryException()));
        Assert.False(ImageSharpDecoding.IsDecoderFault(new OperationCanceledException()));
    }

    [Fact]
    public void The_decoders_own_failures_and_its_allocator_limit_are_the_images_fault()
    {
        Assert.True(ImageSharpDecoding.IsDecoderFault(new InvalidMemoryOperationException("over the allocation limit")));
        Assert.True(ImageSharpDecoding.IsDecoderFault(new IndexOutOfRangeException()));
        Assert.True(ImageSharpDecoding.IsDecoderFault(new SixLabors.ImageSharp.InvalidImageContentException("bad")));
    }
}
