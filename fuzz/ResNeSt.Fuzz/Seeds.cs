using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ResNeSt.Fuzz;

/// <summary>
/// The starting corpus: tiny images in every encoding the five decoders take, and the samples shrunk to thumbnails.
/// AFL mutates small files far faster (and every seed is run at start-up), so everything stays well under 10 KB.
/// </summary>
internal static class Seeds
{
    private const int MaxSeedBytes = 10 * 1024;

    public static int Write(string outDir, IEnumerable<string> samples, TextWriter output)
    {
        Directory.CreateDirectory(outDir);
        int written = 0;
        void Save(string name, Image image, IImageEncoder encoder)
        {
            using var buffer = new MemoryStream();
            image.Save(buffer, encoder);
            if (buffer.Length > MaxSeedBytes)
            {
                output.WriteLine($"skipped {name}: {buffer.Length} bytes");
                return;
            }

            File.WriteAllBytes(Path.Combine(outDir, name), buffer.ToArray());
            written++;
        }

        using (var odd = Pattern(33, 17, alpha: false))
        using (var small = Pattern(16, 12, alpha: true))
        {
            Save("jpeg-420.jpg", odd, new JpegEncoder { Quality = 75, ColorType = JpegColorType.YCbCrRatio420 });
            Save("jpeg-444.jpg", odd, new JpegEncoder { Quality = 90, ColorType = JpegColorType.YCbCrRatio444 });
            Save("jpeg-grey.jpg", odd, new JpegEncoder { Quality = 80, ColorType = JpegColorType.Luminance });
            Save("jpeg-rgb.jpg", small, new JpegEncoder { Quality = 80, ColorType = JpegColorType.Rgb });
            Save("png-rgb.png", odd, new PngEncoder { ColorType = PngColorType.Rgb });
            Save("png-rgba-adam7.png", small, new PngEncoder { ColorType = PngColorType.RgbWithAlpha, InterlaceMethod = PngInterlaceMode.Adam7 });
            Save("png-rgb16.png", small, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit16 });
            Save("png-grey2.png", small, new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit2 });
            Save("png-greyalpha.png", small, new PngEncoder { ColorType = PngColorType.GrayscaleWithAlpha });
            Save("png-palette4.png", small, new PngEncoder { ColorType = PngColorType.Palette, BitDepth = PngBitDepth.Bit4 });
            Save("gif.gif", odd, new GifEncoder());
            Save("bmp-24.bmp", small, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 });
            Save("bmp-32-alpha.bmp", small, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel32, SupportTransparency = true });
            Save("bmp-16.bmp", small, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel16 });
            Save("bmp-8.bmp", small, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel8 });
            Save("bmp-1.bmp", small, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel1 });
            Save("webp-lossy.webp", odd, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = 70 });
            Save("webp-lossy-alpha.webp", small, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = 70 });
            Save("webp-lossless.webp", small, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });

            // EXIF orientation 6 (a quarter turn) takes the AutoOrient path and the whole-image chroma region.
            odd.Metadata.ExifProfile = new ExifProfile();
            odd.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6);
            Save("jpeg-420-exif6.jpg", odd, new JpegEncoder { Quality = 60, ColorType = JpegColorType.YCbCrRatio420 });
            Save("png-exif6.png", odd, new PngEncoder { ColorType = PngColorType.Rgb });
        }

        using (var frames = Pattern(12, 10, alpha: true))
        {
            // A two-frame animation: only the first frame may ever be decoded.
            using var second = Pattern(12, 10, alpha: false);
            frames.Frames.AddFrame(second.Frames.RootFrame);
            Save("gif-2frames.gif", frames, new GifEncoder());
        }

        foreach (string sample in samples)
        {
            // The samples themselves are 100–700 KB; a thumbnail in the same format keeps their encoder's choices.
            using var image = Image.Load(sample, out var format);
            image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(32, 32), Mode = ResizeMode.Max }));
            var encoder = Configuration.Default.ImageFormatsManager.FindEncoder(format);
            Save("sample-" + Path.GetFileName(sample), image, encoder);
        }

        output.WriteLine($"{written} seeds in {outDir}");
        return 0;
    }

    /// <summary>Deterministic gradient plus noise: enough structure for every encoder path, few bytes.</summary>
    private static Image<Rgba32> Pattern(int width, int height, bool alpha)
    {
        var random = new Random(width * 1000 + height);
        var image = new Image<Rgba32>(width, height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                image[x, y] = new Rgba32(
                    (byte)(x * 255 / width),
                    (byte)(y * 255 / height),
                    (byte)random.Next(256),
                    alpha ? (byte)((x + y) * 255 / (width + height)) : (byte)255);
            }
        }

        return image;
    }
}
