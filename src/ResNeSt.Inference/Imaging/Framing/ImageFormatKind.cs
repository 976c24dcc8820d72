namespace ResNeSt.Inference.Imaging.Framing;

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
