using System.Buffers.Binary;
using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>
/// What libwebp (PIL) checks and ImageSharp 2.1.13 does not: a still image's VP8X canvas matches its frame, and a lossy
/// frame's first partition can hold a mode for every macroblock it declares. The fuzzer found the second one: a
/// 192-byte file declaring 7008×2050 pixels that ImageSharp decoded for seconds, out of reach of the decode timeout.
/// </summary>
public sealed class WebpConsistencyTests
{
    private static readonly PreprocessingSpec s_spec = new(
        PreprocessingRecipe.Hub, 32, 37, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    private static readonly ImagePreprocessor s_preprocessor = new(ImageLimits.Default);

    private static byte[] Encode(int width, int height, WebpFileFormatType format, bool alpha)
    {
        using var image = new Image<Rgba32>(width, height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                image[x, y] = new Rgba32((byte)(x * 7), (byte)(y * 5), (byte)(x ^ y), alpha ? (byte)(x + y) : (byte)255);
            }
        }

        using var buffer = new MemoryStream();
        image.Save(buffer, new WebpEncoder { FileFormat = format, Quality = 75 });
        return buffer.ToArray();
    }

    private static int IndexOf(byte[] data, string fourCc) => data.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(fourCc));

    private static ImageRejectedException Reject(byte[] bytes) =>
        Assert.Throws<ImageRejectedException>(() => s_preprocessor.Preprocess(bytes, new float[s_spec.TensorLength], s_spec));

    [Fact]
    public void Lossy_frame_declaring_more_macroblocks_than_its_first_partition_can_code_is_corrupt()
    {
        var bytes = Encode(33, 17, WebpFileFormatType.Lossy, alpha: false);
        s_preprocessor.Preprocess(bytes, new float[s_spec.TensorLength], s_spec); // the file as written is fine

        // Same data, header rewritten to 7008×2050: 56,364 macroblocks for a first partition of a few dozen bytes.
        int frame = IndexOf(bytes, "VP8 ") + 8;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(frame + 6), 7008);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(frame + 8), 2050);
        var ex = Reject(bytes);
        Assert.Equal(ImageRejectionReason.Corrupt, ex.Reason);
        Assert.Contains("too short", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(WebpFileFormatType.Lossy)]
    [InlineData(WebpFileFormatType.Lossless)]
    public void Canvas_other_than_the_frame_is_corrupt(WebpFileFormatType format)
    {
        var simple = Encode(20, 14, format, alpha: false);
        s_preprocessor.Preprocess(Extended(simple, 20, 14), new float[s_spec.TensorLength], s_spec);

        // ImageSharp would decode the frame and ignore the canvas; libwebp refuses the file.
        Assert.Equal(ImageRejectionReason.Corrupt, Reject(Extended(simple, 21, 14)).Reason);
        Assert.Equal(ImageRejectionReason.Corrupt, Reject(Extended(simple, 20, 13)).Reason);
    }

    [Theory]
    [InlineData(WebpFileFormatType.Lossy)]
    [InlineData(WebpFileFormatType.Lossless)]
    public void Frame_after_the_end_of_the_RIFF_container_is_not_there(WebpFileFormatType format)
    {
        // libwebp reads no further than the RIFF size: a container holding only the VP8X header has no image, however
        // good the frame that follows it in the file.
        var file = Extended(Encode(20, 14, format, alpha: false), 20, 14);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(4), 4 + 18);
        Assert.Equal(ImageRejectionReason.Corrupt, Reject(file).Reason);
    }

    /// <summary>The simple file's image chunk behind a VP8X header declaring the given canvas.</summary>
    private static byte[] Extended(byte[] simple, int canvasWidth, int canvasHeight)
    {
        var imageChunk = simple.AsSpan(12); // "VP8 " or "VP8L" chunk, the only one a simple file holds
        var file = new byte[12 + 18 + imageChunk.Length];
        "RIFF"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(4), (uint)(file.Length - 8));
        "WEBPVP8X"u8.CopyTo(file.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(16), 10);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(24), (uint)(canvasWidth - 1)); // 24-bit fields: each write
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(27), (uint)(canvasHeight - 1)); // spills a zero the next write replaces
        imageChunk.CopyTo(file.AsSpan(30));
        return file;
    }

    [Fact]
    public void Flat_lossy_image_with_the_leanest_partition_is_still_accepted()
    {
        // A single colour costs the encoder almost nothing beyond the per-macroblock modes: the tightest valid case.
        using var image = new Image<Rgb24>(640, 480, new Rgb24(90, 120, 200));
        using var buffer = new MemoryStream();
        image.Save(buffer, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = 1 });
        var tensor = new float[s_spec.TensorLength];
        var info = s_preprocessor.Preprocess(buffer.ToArray(), tensor, s_spec);
        Assert.Equal((640, 480), (info.Width, info.Height));
    }
}
