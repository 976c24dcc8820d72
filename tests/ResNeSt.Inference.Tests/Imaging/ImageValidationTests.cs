using System.Buffers.Binary;
using System.IO.Compression;
using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>Hostile input is normal input: every bad file is refused with a reason, nothing else escapes.</summary>
public sealed class ImageValidationTests
{
    private static readonly PreprocessingSpec s_spec = new(
        PreprocessingRecipe.Hub, 32, 37, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    private static readonly ImagePreprocessor s_preprocessor = new(ImageLimits.Default);

    private static ImageRejectedException Reject(byte[] bytes, ImagePreprocessor? preprocessor = null) =>
        Assert.Throws<ImageRejectedException>(() =>
            (preprocessor ?? s_preprocessor).Preprocess(bytes, new float[s_spec.TensorLength], s_spec));

    [Fact]
    public void Empty_input_is_rejected_as_empty()
    {
        Assert.Equal(ImageRejectionReason.Empty, Reject([]).Reason);
        Assert.Equal("empty", Reject([]).Code);
    }

    [Fact]
    public void Input_over_the_byte_limit_is_rejected_before_decoding()
    {
        var small = new ImagePreprocessor(ImageLimits.Default with { MaxBytes = 1000 });
        var png = File.ReadAllBytes(Fixtures.Sample("camera.png"));
        Assert.Equal(ImageRejectionReason.TooLarge, Reject(png, small).Reason);
    }

    public static TheoryData<string, byte[]> NotImages => new()
    {
        { "text", "hello, this is not an image at all\n"u8.ToArray() },
        { "text starting with BM", "BM is a nice pair of letters, but this is text"u8.ToArray() },
        { "windows executable", [0x4D, 0x5A, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xFF, 0xFF] },
        { "elf executable", [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0] },
        { "pdf", "%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj"u8.ToArray() },
        { "tiff (a real image format we do not accept)", [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0, 0, 0, 0] },
        { "riff that is not webp", "RIFF\u0024\0\0\0WAVEfmt "u8.ToArray() },
        { "one byte", [0xFF] },
    };

    [Theory]
    [MemberData(nameof(NotImages))]
    public void Non_images_are_rejected_as_unsupported_format(string what, byte[] bytes)
    {
        var ex = Reject(bytes);
        Assert.True(ex.Reason == ImageRejectionReason.UnsupportedFormat, $"{what}: {ex.Reason} {ex.Message}");
    }

    [Fact]
    public void The_format_comes_from_the_bytes_not_the_name()
    {
        // A PNG uploaded as "photo.jpg" (the API never sees a name): identified and decoded as PNG.
        var png = File.ReadAllBytes(Fixtures.Sample("coffee.png"));
        var info = s_preprocessor.Preprocess(png, new float[s_spec.TensorLength], s_spec);
        Assert.Equal("png", info.Format);
        Assert.Equal((600, 400), (info.Width, info.Height));
        Assert.Equal("jpeg", ImagePreprocessor.Identify(File.ReadAllBytes(Fixtures.Sample("dog.jpg")), ImageLimits.Default).Format);
    }

    [Theory]
    [InlineData("camera.png", "png")]
    [InlineData("dog.jpg", "jpeg")]
    public void Identify_reads_dimensions_from_the_header(string sample, string format)
    {
        var bytes = File.ReadAllBytes(Fixtures.Sample(sample));
        using var decoded = Image.Load<Rgb24>(bytes);
        var info = ImagePreprocessor.Identify(bytes, ImageLimits.Default);
        Assert.Equal((format, decoded.Width, decoded.Height), (info.Format, info.Width, info.Height));
    }

    [Fact]
    public void A_png_header_declaring_65535_squared_pixels_is_refused_before_decoding()
    {
        // 17 bytes of header promise 4.3 gigapixels; decoding would try to allocate ~13 GB.
        var bomb = PngWithHeader(65535, 65535, idat: ZlibOf(new byte[1024]));
        var ex = Reject(bomb);
        Assert.Equal(ImageRejectionReason.PixelBudgetExceeded, ex.Reason);
        Assert.Equal(ImageRejectionReason.PixelBudgetExceeded,
            Assert.Throws<ImageRejectedException>(() => ImagePreprocessor.Identify(bomb, ImageLimits.Default)).Reason);
    }

    [Fact]
    public void The_pixel_budget_and_the_longest_side_are_both_enforced()
    {
        var png = File.ReadAllBytes(Fixtures.Sample("coffee.png")); // 600 × 400
        Assert.Equal(ImageRejectionReason.PixelBudgetExceeded,
            Reject(png, new ImagePreprocessor(ImageLimits.Default with { MaxPixels = 600 * 400 - 1 })).Reason);
        Assert.Equal(ImageRejectionReason.PixelBudgetExceeded,
            Reject(png, new ImagePreprocessor(ImageLimits.Default with { MaxSide = 599 })).Reason);
        s_preprocessor.Preprocess(png, new float[s_spec.TensorLength], s_spec);
        new ImagePreprocessor(ImageLimits.Default with { MaxPixels = 600 * 400, MaxSide = 600 })
            .Preprocess(png, new float[s_spec.TensorLength], s_spec);
    }

    [Fact]
    public void A_jpeg_declaring_a_huge_frame_is_refused_before_decoding()
    {
        var jpeg = File.ReadAllBytes(Fixtures.Image("exif-1.jpg"));
        int sof = FindMarker(jpeg, 0xC0);
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 5), 60000); // height
        BinaryPrimitives.WriteUInt16BigEndian(jpeg.AsSpan(sof + 7), 60000); // width
        Assert.Equal(ImageRejectionReason.PixelBudgetExceeded, Reject(jpeg).Reason);
    }

    [Theory]
    [InlineData("dog.jpg")]
    [InlineData("coffee.png")]
    public void Truncated_files_are_rejected_as_corrupt(string sample)
    {
        var bytes = File.ReadAllBytes(Fixtures.Sample(sample));
        foreach (double fraction in new[] { 0.9, 0.5, 0.1 })
        {
            var cut = bytes.AsSpan(0, (int)(bytes.Length * fraction)).ToArray();
            var ex = Reject(cut);
            Assert.True(ex.Reason == ImageRejectionReason.Corrupt, $"{sample} cut to {fraction:P0}: {ex.Reason} {ex.Message}");
        }
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF })]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A })]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61 })]
    public void Garbage_behind_valid_magic_bytes_is_rejected(byte[] magic)
    {
        var random = new Random(42);
        for (int i = 0; i < 20; i++)
        {
            var bytes = new byte[magic.Length + random.Next(0, 5000)];
            random.NextBytes(bytes);
            magic.CopyTo(bytes, 0);
            // Random headers may also declare an unsupported coding or an enormous size; all three are right answers.
            var reason = Reject(bytes).Reason;
            Assert.True(
                reason is ImageRejectionReason.Corrupt or ImageRejectionReason.UnsupportedFormat or ImageRejectionReason.PixelBudgetExceeded,
                $"unexpected reason {reason}");
        }
    }

    [Theory]
    [InlineData("exif-1.jpg")]
    [InlineData("photo-progressive-420.jpg")]
    [InlineData("palette-257x191.png")]
    [InlineData("first-frame-257x191.gif")]
    [InlineData("rgb-121x97.bmp")]
    [InlineData("lossless-223x177.webp")]
    public void Damaged_files_either_decode_or_are_rejected_never_anything_else(string name)
    {
        // Flip a few random bytes many times over: whatever the decoder makes of it, the only permitted failure is
        // ImageRejectedException.
        var original = File.ReadAllBytes(Fixtures.Image(name));
        var random = new Random(1234);
        var tensor = new float[s_spec.TensorLength];
        for (int trial = 0; trial < 60; trial++)
        {
            var bytes = (byte[])original.Clone();
            int flips = random.Next(1, 8);
            for (int f = 0; f < flips; f++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            try
            {
                s_preprocessor.Preprocess(bytes, tensor, s_spec);
                Assert.All(tensor, v => Assert.True(float.IsFinite(v)));
            }
            catch (ImageRejectedException)
            {
            }
        }
    }

    [Fact]
    public void Only_the_first_frame_of_an_animated_gif_is_used()
    {
        using var animation = new Image<Rgb24>(40, 30, new Rgb24(250, 10, 10));
        using var second = new Image<Rgb24>(40, 30, new Rgb24(10, 10, 250));
        animation.Frames.AddFrame(second.Frames.RootFrame);
        using var gif = new MemoryStream();
        animation.Save(gif, new GifEncoder());

        using var still = new Image<Rgb24>(40, 30, new Rgb24(250, 10, 10));
        using var stillGif = new MemoryStream();
        still.Save(stillGif, new GifEncoder());

        var fromAnimation = new float[s_spec.TensorLength];
        var fromStill = new float[s_spec.TensorLength];
        s_preprocessor.Preprocess(gif.ToArray(), fromAnimation, s_spec);
        s_preprocessor.Preprocess(stillGif.ToArray(), fromStill, s_spec);
        Assert.Equal(fromStill, fromAnimation);
    }

    [Fact]
    public void Sixteen_bit_png_keeps_the_high_byte_as_pil_does()
    {
        // PIL unpacks 16-bit RGB PNG samples to their high byte (ImageSharp's own narrowing would round instead).
        using var wide = new Image<Rgb48>(16, 16);
        var random = new Random(7);
        using var narrow = new Image<Rgb24>(16, 16);
        for (int y = 0; y < 16; y++)
        {
            for (int x = 0; x < 16; x++)
            {
                var p = new Rgb48((ushort)random.Next(65536), (ushort)random.Next(65536), (ushort)random.Next(65536));
                wide[x, y] = p;
                narrow[x, y] = new Rgb24((byte)(p.R >> 8), (byte)(p.G >> 8), (byte)(p.B >> 8));
            }
        }

        var sixteen = Encode(wide, new PngEncoder { BitDepth = PngBitDepth.Bit16, ColorType = PngColorType.Rgb });
        var eight = Encode(narrow, new PngEncoder { BitDepth = PngBitDepth.Bit8, ColorType = PngColorType.Rgb });
        var a = new float[s_spec.TensorLength];
        var b = new float[s_spec.TensorLength];
        s_preprocessor.Preprocess(sixteen, a, s_spec);
        s_preprocessor.Preprocess(eight, b, s_spec);
        Assert.Equal(b, a);
    }

    [Fact]
    public void Exif_orientation_off_reads_the_stored_pixels_as_pil_does()
    {
        // exif-6.jpg stores the same pixels as exif-1.jpg with a "rotate 90° clockwise" tag.
        var spec = s_spec with { ApplyExifOrientation = false };
        var tagged = new float[spec.TensorLength];
        var untagged = new float[spec.TensorLength];
        s_preprocessor.Preprocess(File.ReadAllBytes(Fixtures.Image("exif-6.jpg")), tagged, spec);
        s_preprocessor.Preprocess(File.ReadAllBytes(Fixtures.Image("exif-1.jpg")), untagged, spec);
        Assert.Equal(untagged, tagged);

        s_preprocessor.Preprocess(File.ReadAllBytes(Fixtures.Image("exif-6.jpg")), tagged, s_spec);
        Assert.NotEqual(untagged, tagged);
    }

    [Fact]
    public void Wrong_destination_length_is_a_programming_error_not_a_rejection()
    {
        var png = File.ReadAllBytes(Fixtures.Sample("coffee.png"));
        Assert.Throws<ArgumentException>(() => s_preprocessor.Preprocess(png, new float[10], s_spec));
    }

    [Fact]
    public void One_instance_is_safe_to_share_between_threads()
    {
        var files = new[] { Fixtures.Sample("dog.jpg"), Fixtures.Sample("coffee.png"), Fixtures.Image("photo-420.jpg") }
            .Select(File.ReadAllBytes).ToArray();
        var expected = files.Select(f =>
        {
            var t = new float[s_spec.TensorLength];
            s_preprocessor.Preprocess(f, t, s_spec);
            return t;
        }).ToArray();
        Parallel.For(0, 24, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var t = new float[s_spec.TensorLength];
            s_preprocessor.Preprocess(files[i % files.Length], t, s_spec);
            Assert.Equal(expected[i % files.Length], t);
        });
    }

    private static byte[] Encode(Image image, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
    {
        using var stream = new MemoryStream();
        image.Save(stream, encoder);
        return stream.ToArray();
    }

    private static int FindMarker(byte[] jpeg, byte marker)
    {
        for (int i = 2; i + 1 < jpeg.Length; i++)
        {
            if (jpeg[i] == 0xFF && jpeg[i + 1] == marker)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"Marker FF{marker:X2} not found.");
    }

    /// <summary>PNG's CRC-32 (reflected, polynomial 0xEDB88320), bit by bit: a test needs a few hundred bytes of it.</summary>
    private static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return crc;
    }

    private static byte[] ZlibOf(byte[] data)
    {
        using var stream = new MemoryStream();
        using (var z = new ZLibStream(stream, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(data);
        }

        return stream.ToArray();
    }

    private static byte[] PngWithHeader(uint width, uint height, byte[] idat)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        WriteChunk(stream, "IHDR"u8, ihdr);
        WriteChunk(stream, "IDAT"u8, idat);
        WriteChunk(stream, "IEND"u8, []);
        return stream.ToArray();
    }

    private static void WriteChunk(Stream stream, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)data.Length);
        stream.Write(u32);
        stream.Write(type);
        stream.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(u32, ~Crc32(Crc32(0xFFFFFFFFu, type), data));
        stream.Write(u32);
    }
}
