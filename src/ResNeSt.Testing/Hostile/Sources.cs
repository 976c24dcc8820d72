using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ResNeSt.Testing.Hostile;

/// <summary>A valid image the corpus damages: a sample, or a small re-encoding of one.</summary>
internal sealed record SourceImage(string Name, string Format, string Extension, byte[] Content)
{
    /// <summary>Bytes a sniffer needs before it can tell the format (shorter files are not recognisable at all).</summary>
    public int SignatureLength => Format switch
    {
        "jpeg" => 3,
        "png" => 8,
        "gif" => 6,
        "webp" => 12,
        "bmp" => 18,
        _ => 1,
    };
}

/// <summary>The valid images every hostile file is derived from.</summary>
internal static class Sources
{
    public static readonly string[] Formats = ["jpeg420", "jpeg444", "png", "gif", "bmp", "webp-lossy", "webp-lossless"];

    /// <summary>Each sample file as it is, plus each sample shrunk to 96 px and encoded in every allowed format.</summary>
    public static (IReadOnlyList<SourceImage> Originals, IReadOnlyList<SourceImage> Small) Load(string sampleDirectory)
    {
        var originals = new List<SourceImage>();
        var small = new List<SourceImage>();
        foreach (var path in Samples.SampleImages.Paths(sampleDirectory))
        {
            var content = File.ReadAllBytes(path);
            var stem = Path.GetFileNameWithoutExtension(path);
            var ext = Path.GetExtension(path).TrimStart('.').ToLowerInvariant();
            originals.Add(new SourceImage(stem, ext == "jpg" ? "jpeg" : ext, ext, content));
            using var image = Image.Load<Rgb24>(content);
            image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(96, 96), Mode = ResizeMode.Max }));
            foreach (var format in Formats)
            {
                small.Add(new SourceImage($"{stem}-{format}", FormatOf(format), ExtensionOf(format), Encode(image, format)));
            }
        }

        return (originals, small);
    }

    public static string FormatOf(string encoding) => encoding switch
    {
        "jpeg420" or "jpeg444" => "jpeg",
        "webp-lossy" or "webp-lossless" => "webp",
        _ => encoding,
    };

    private static string ExtensionOf(string encoding) => FormatOf(encoding) switch
    {
        "jpeg" => "jpg",
        var other => other,
    };

    public static byte[] Encode(Image image, string encoding)
    {
        using var buffer = new MemoryStream();
        switch (encoding)
        {
            case "jpeg420":
                image.Save(buffer, new JpegEncoder { Quality = 85, ColorType = JpegColorType.YCbCrRatio420 });
                break;
            case "jpeg444":
                image.Save(buffer, new JpegEncoder { Quality = 90, ColorType = JpegColorType.YCbCrRatio444 });
                break;
            case "png":
                image.Save(buffer, new PngEncoder { ColorType = PngColorType.Rgb });
                break;
            case "gif":
                image.Save(buffer, new GifEncoder());
                break;
            case "bmp":
                image.Save(buffer, new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 });
                break;
            case "webp-lossy":
                image.Save(buffer, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = 80 });
                break;
            case "webp-lossless":
                image.Save(buffer, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(encoding), encoding, null);
        }

        return buffer.ToArray();
    }
}
