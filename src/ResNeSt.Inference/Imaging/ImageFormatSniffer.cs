using System.Buffers.Binary;

namespace ResNeSt.Inference.Imaging;

/// <summary>The formats an upload may be in. Anything else is refused before a decoder sees it.</summary>
internal enum ImageFormatKind
{
    Unknown,
    Jpeg,
    Png,
    Gif,
    Bmp,
    Webp,
}

/// <summary>
/// Identifies the format from the leading bytes only: names and content types are chosen by the uploader and prove
/// nothing. Also checks the container framing that ImageSharp forgives but PIL does not (a truncated JPEG or PNG
/// decodes to grey in ImageSharp and raises in PIL), so a damaged upload is refused rather than classified.
/// </summary>
internal static class ImageFormatSniffer
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ReadOnlySpan<byte> EndOfImage => [0xFF, 0xD9];

    public static ImageFormatKind Sniff(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return ImageFormatKind.Jpeg;
        }

        if (data.StartsWith(PngSignature))
        {
            return ImageFormatKind.Png;
        }

        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
        {
            return ImageFormatKind.Gif;
        }

        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return ImageFormatKind.Webp;
        }

        // "BM" alone matches plenty of text; the DIB header size that follows the 14-byte file header must be a known one.
        if (data.Length >= 18 && data[0] == (byte)'B' && data[1] == (byte)'M')
        {
            uint dibSize = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
            if (dibSize is 12 or 16 or 40 or 52 or 56 or 64 or 108 or 124)
            {
                return ImageFormatKind.Bmp;
            }
        }

        return ImageFormatKind.Unknown;
    }

    public static string Name(ImageFormatKind format) => format switch
    {
        ImageFormatKind.Jpeg => "jpeg",
        ImageFormatKind.Png => "png",
        ImageFormatKind.Gif => "gif",
        ImageFormatKind.Bmp => "bmp",
        ImageFormatKind.Webp => "webp",
        _ => "unknown",
    };

    /// <summary>
    /// A JPEG is complete when an end-of-image marker follows its first scan header. Entropy-coded data cannot contain
    /// FF D9 (a data FF is always stuffed as FF 00), so the first FF D9 after the scan header is the real end.
    /// </summary>
    public static bool IsCompleteJpeg(ReadOnlySpan<byte> data)
    {
        int pos = 2;
        while (pos + 1 < data.Length)
        {
            if (data[pos] != 0xFF)
            {
                return false;
            }

            byte marker = data[pos + 1];
            if (marker == 0xFF)
            {
                pos++; // fill byte before a marker
                continue;
            }

            if (marker is 0x01 or 0xD8 or (>= 0xD0 and <= 0xD7))
            {
                pos += 2; // markers without a length
                continue;
            }

            if (marker == 0xD9 || pos + 3 >= data.Length)
            {
                return false; // image ended before any scan, or the header is cut
            }

            int length = (data[pos + 2] << 8) | data[pos + 3];
            if (length < 2)
            {
                return false;
            }

            int next = pos + 2 + length;
            if (marker == 0xDA)
            {
                return next <= data.Length && data[next..].IndexOf(EndOfImage) >= 0;
            }

            pos = next;
        }

        return false;
    }

    /// <summary>A PNG is complete when its chunks, each inside the file, lead to IEND.</summary>
    public static bool IsCompletePng(ReadOnlySpan<byte> data)
    {
        long pos = PngSignature.Length;
        while (pos + 12 <= data.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[(int)pos..]);
            if (length > int.MaxValue)
            {
                return false;
            }

            if (data.Slice((int)pos + 4, 4).SequenceEqual("IEND"u8))
            {
                return true;
            }

            pos += 12L + length;
        }

        return false;
    }
}
