using System.Buffers.Binary;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Imaging.Framing;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>
/// ImageSharp decodes the missing rows of a cut-off uncompressed BMP as zeros; PIL refuses it as truncated. The fuzzer
/// turned that into 56 bytes declaring 27 megapixels, accepted as an image after half a second of decoding.
/// </summary>
public sealed class BmpTruncationTests
{
    private static readonly PreprocessingSpec s_spec = new(
        PreprocessingRecipe.Hub, 32, 37, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    private static readonly ImagePreprocessor s_preprocessor = new(ImageLimits.Default);

    private static byte[] Bmp(BmpBitsPerPixel bits, int width, int height)
    {
        using var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                image[x, y] = new Rgb24((byte)(x * 9), (byte)(y * 11), 77);
            }
        }

        using var buffer = new MemoryStream();
        image.Save(buffer, new BmpEncoder { BitsPerPixel = bits });
        return buffer.ToArray();
    }

    private static void Accept(byte[] bytes) => s_preprocessor.Preprocess(bytes, new float[s_spec.TensorLength], s_spec);

    [Theory]
    [InlineData(BmpBitsPerPixel.Pixel1)]
    [InlineData(BmpBitsPerPixel.Pixel8)]
    [InlineData(BmpBitsPerPixel.Pixel16)]
    [InlineData(BmpBitsPerPixel.Pixel24)]
    [InlineData(BmpBitsPerPixel.Pixel32)]
    public void Uncompressed_bmp_missing_part_of_its_rows_is_corrupt(BmpBitsPerPixel bits)
    {
        // 13 pixels a row: every depth needs row padding, so the stride arithmetic is exercised.
        var bytes = Bmp(bits, 13, 9);
        Accept(bytes);

        int offset = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(10));
        int stride = ((13 * (int)bits) + 31) / 32 * 4;
        int lastRow = ((13 * (int)bits) + 7) / 8;
        Assert.Equal(offset + (stride * 9), bytes.Length);

        // Without the last row's padding it is still whole; one byte less is not.
        Accept(bytes[..(offset + (stride * 8) + lastRow)]);
        var ex = Assert.Throws<ImageRejectedException>(() => Accept(bytes[..(offset + (stride * 8) + lastRow - 1)]));
        Assert.Equal(ImageRejectionReason.Corrupt, ex.Reason);
    }

    [Fact]
    public void Header_declaring_millions_of_pixels_over_a_few_bytes_is_corrupt_before_decoding()
    {
        var bytes = Bmp(BmpBitsPerPixel.Pixel24, 4, 4);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), 4624);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), -5876); // top-down, as the fuzzer had it
        var ex = Assert.Throws<ImageRejectedException>(() => Accept(bytes));
        Assert.Equal(ImageRejectionReason.Corrupt, ex.Reason);
        Assert.Contains("shorter", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_whose_rows_would_overflow_the_size_arithmetic_is_corrupt_not_over_budget()
    {
        // int.MaxValue² at 32 bits a pixel: the bytes it needs do not fit in a long; 58 bytes are not whole.
        var bytes = Bmp(BmpBitsPerPixel.Pixel32, 1, 1);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), int.MaxValue);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), int.MaxValue);
        Assert.False(BmpFraming.Instance.IsComplete(bytes)); // the framing check itself says so, before any decoder
        Assert.Equal(ImageRejectionReason.Corrupt, Assert.Throws<ImageRejectedException>(() => Accept(bytes)).Reason);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(61441)]
    public void Pixel_depth_that_is_not_a_real_one_is_corrupt(int bitsPerPixel)
    {
        var bytes = Bmp(BmpBitsPerPixel.Pixel24, 4, 4);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(28), (ushort)bitsPerPixel);
        Assert.Equal(ImageRejectionReason.Corrupt, Assert.Throws<ImageRejectedException>(() => Accept(bytes)).Reason);
    }
}
