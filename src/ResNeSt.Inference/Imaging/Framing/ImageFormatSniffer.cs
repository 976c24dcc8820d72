namespace ResNeSt.Inference.Imaging.Framing;

/// <summary>
/// Identifies the format from the leading bytes only: names and content types are chosen by the uploader and prove
/// nothing.
/// </summary>
internal static class ImageFormatSniffer
{
    /// <summary>The accepted formats, in the order their signatures are tried.</summary>
    public static IReadOnlyList<IFormatFraming> Formats { get; } =
        [JpegFraming.Instance, PngFraming.Instance, GifFraming.Instance, WebpFraming.Instance, BmpFraming.Instance];

    /// <summary>The format whose signature the data starts with, or null for anything else.</summary>
    public static IFormatFraming? Sniff(ReadOnlySpan<byte> data)
    {
        foreach (var format in Formats)
        {
            if (format.Matches(data))
            {
                return format;
            }
        }

        return null;
    }
}
