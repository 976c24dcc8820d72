using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Processing;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// A small JPEG of an upload, for people to look at: decoded under the classifier's limits (so a hostile file costs no
/// more here than it does in the pipeline), turned upright, shrunk to fit a square and re-encoded. Nothing of the
/// original file (its metadata, its format, its bytes) reaches the output. Thread-safe.
/// </summary>
public sealed class ThumbnailEncoder(ImageLimits limits)
{
    /// <summary>Largest side a thumbnail may be asked for.</summary>
    public const int MaxSide = 512;

    private static readonly JpegEncoder s_encoder = new() { Quality = 80 };

    private readonly ImagePreprocessor _decoder = new(limits);

    public ImageLimits Limits => _decoder.Limits;

    /// <summary>Encodes a JPEG no larger than <paramref name="side"/> × <paramref name="side"/> (aspect kept, never enlarged).</summary>
    /// <exception cref="ImageRejectedException">The bytes are not an acceptable image.</exception>
    public byte[] Encode(ReadOnlySpan<byte> encoded, int side, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(side, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(side, MaxSide);
        using var image = _decoder.DecodeUpright(encoded, cancellationToken);
        if (image.Width > side || image.Height > side)
        {
            image.Mutate(x => x.Resize(new ResizeOptions { Mode = ResizeMode.Max, Size = new Size(side, side), Sampler = KnownResamplers.Bicubic }));
        }

        // Metadata (EXIF with GPS, ICC, comments) stays behind: the thumbnail is pixels only.
        image.Metadata.ExifProfile = null;
        image.Metadata.IccProfile = null;
        image.Metadata.XmpProfile = null;
        image.Metadata.IptcProfile = null;
        using var output = new MemoryStream();
        image.SaveAsJpeg(output, s_encoder);
        return output.ToArray();
    }
}
