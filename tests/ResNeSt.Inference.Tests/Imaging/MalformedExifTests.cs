using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>
/// ImageSharp parses EXIF lazily, when the orientation is first read, and its reader throws
/// ArgumentOutOfRangeException for an entry whose value lies outside the block. The fuzzer found that escaping
/// <see cref="ImagePreprocessor.Preprocess(ReadOnlySpan{byte}, Span{float}, PreprocessingSpec)"/> as a crash.
/// </summary>
public sealed class MalformedExifTests
{
    // APP1 "Exif": a little-endian TIFF header and one IFD entry (tag 0x011D, SHORT) claiming 0xFFFFFFFF values at
    // offset 6 of a 28-byte block: the segment the fuzzer produced, cut out of its input.
    private static readonly byte[] s_brokenExifSegment = Convert.FromHexString(
        "FFE1002245786966000049492A000800000001001D010300FFFFFFFF0600000000000000");

    private static readonly PreprocessingSpec s_spec = new(
        PreprocessingRecipe.Hub, 32, 37, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    [Fact]
    public void Exif_entry_reaching_outside_its_block_is_ignored_and_the_image_classified()
    {
        using var image = new Image<Rgb24>(33, 17);
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                image[x, y] = new Rgb24((byte)(x * 7), (byte)(y * 13), (byte)(x * y));
            }
        }

        using var buffer = new MemoryStream();
        image.Save(buffer, new JpegEncoder { Quality = 90, ColorType = JpegColorType.YCbCrRatio444 });
        byte[] clean = buffer.ToArray();
        byte[] broken = [.. clean.AsSpan(0, 2), .. s_brokenExifSegment, .. clean.AsSpan(2)]; // right after SOI

        var preprocessor = new ImagePreprocessor(ImageLimits.Default);
        var expected = new float[s_spec.TensorLength];
        var actual = new float[s_spec.TensorLength];
        preprocessor.Preprocess(clean, expected, s_spec);
        var info = preprocessor.Preprocess(broken, actual, s_spec);

        // Unreadable EXIF counts as no orientation: the same pixels as the file without it.
        Assert.Equal((33, 17), (info.Width, info.Height));
        Assert.Equal(expected, actual);
        Assert.Equal(info, ImagePreprocessor.Identify(broken, ImageLimits.Default));
    }
}
