using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging.Framing;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// What an image's header says, read and checked before any pixel is decoded (<see cref="Read"/>): its format, its
/// declared size, the EXIF orientation, and what the decode path needs to know of it.
/// </summary>
/// <param name="ScalableJpeg">A greyscale or YCbCr JPEG, which libjpeg and PIL turn into the same RGB (CMYK and
/// Adobe RGB JPEGs are converted differently by the two, so they always take the full-size ImageSharp path).</param>
internal readonly record struct ImageHeader(
    ImageFormatKind Format, ImageInfo Info, ushort Orientation, PngBitDepth? PngBitDepth, (int H, int V) ChromaSubsampling, bool Progressive,
    bool ScalableJpeg)
{
    /// <summary>
    /// Reads and checks the header before anything is decoded: byte count, format by content (not by name), the
    /// container's framing, PNG metadata size, and the declared dimensions against the pixel budget.
    /// </summary>
    /// <exception cref="ImageRejectedException">The bytes are not an acceptable image.</exception>
    public static unsafe ImageHeader Read(ReadOnlySpan<byte> encoded, ImageLimits limits, Configuration configuration, CancellationToken cancellationToken)
    {
        if (encoded.IsEmpty)
        {
            throw new ImageRejectedException(ImageRejectionReason.Empty, "The image is empty (0 bytes).");
        }

        if (encoded.Length > limits.MaxBytes)
        {
            throw new ImageRejectedException(
                ImageRejectionReason.TooLarge, $"The image is {encoded.Length} bytes; at most {limits.MaxBytes} are accepted.");
        }

        var sniffed = ImageFormatSniffer.Sniff(encoded)
            ?? throw new ImageRejectedException(
                ImageRejectionReason.UnsupportedFormat, "The bytes are not a JPEG, PNG, WebP, BMP or GIF image.");
        var format = sniffed.Kind;
        if (format == ImageFormatKind.Webp && WebpFraming.IsAnimated(encoded))
        {
            throw new ImageRejectedException(ImageRejectionReason.UnsupportedFormat, "Animated WebP images are not accepted.");
        }

        // The container framing is checked before ImageSharp reads anything: its decoders fill in what a truncated file
        // lacks (and its WebP header reader then gives a different answer from run to run for the same cut file).
        // A JPEG's layout is read once, for its completeness and its colour handling.
        string name = sniffed.Name;
        var jpeg = format == ImageFormatKind.Jpeg ? JpegFraming.ReadLayout(encoded) : default;
        bool complete = format == ImageFormatKind.Jpeg ? jpeg.Complete : sniffed.IsComplete(encoded);
        if (!complete)
        {
            throw new ImageRejectedException(ImageRejectionReason.Corrupt, sniffed.IncompleteMessage);
        }

        // ImageSharp inflates PNG metadata chunks in full while reading the header, before any limit of its own applies.
        if (format == ImageFormatKind.Png && PngCompressedMetadata.FindExcess(encoded, limits.MaxMetadataBytes) is { } excess)
        {
            throw new ImageRejectedException(ImageRejectionReason.MetadataTooLarge, excess);
        }

        IImageInfo info;
        try
        {
            fixed (byte* p = encoded)
            {
                using var stream = new UnmanagedMemoryStream(p, encoded.Length);
                info = ((IImageInfoDetector)ImageSharpDecoding.DecoderFor(format)).Identify(configuration, stream, cancellationToken)
                    ?? throw new ImageRejectedException(ImageRejectionReason.Corrupt, $"The {name} header could not be read.");
            }
        }
        catch (Exception ex) when (ImageSharpDecoding.IsDecoderFault(ex))
        {
            throw ImageSharpDecoding.Translate(ex, name);
        }

        int width = info.Width;
        int height = info.Height;
        if (width < 1 || height < 1)
        {
            throw new ImageRejectedException(ImageRejectionReason.Corrupt, $"The {name} header declares a {width}×{height} image.");
        }

        if (width > limits.MaxSide || height > limits.MaxSide || (long)width * height > limits.MaxPixels)
        {
            throw new ImageRejectedException(
                ImageRejectionReason.PixelBudgetExceeded,
                $"The {name} header declares {width}×{height} pixels; at most {limits.MaxPixels} pixels and {limits.MaxSide} a side are accepted.");
        }

        // A still extended WebP whose canvas differs from its image: libwebp (PIL) refuses it; ImageSharp would decode
        // the image and ignore the canvas, so the header would not describe what is classified.
        if (format == ImageFormatKind.Webp && WebpFraming.Canvas(encoded) is { } canvas && canvas != (width, height))
        {
            bool overBudget = canvas.Width > limits.MaxSide || canvas.Height > limits.MaxSide || (long)canvas.Width * canvas.Height > limits.MaxPixels;
            throw new ImageRejectedException(
                overBudget ? ImageRejectionReason.PixelBudgetExceeded : ImageRejectionReason.Corrupt,
                $"The webp canvas is {canvas.Width}×{canvas.Height} but its image is {width}×{height}.");
        }

        if (format == ImageFormatKind.Webp && !WebpFraming.IsConsistent(encoded))
        {
            throw new ImageRejectedException(
                ImageRejectionReason.Corrupt, "The webp frame is inconsistent with its canvas or too short for its size.");
        }

        return new ImageHeader(
            format, new ImageInfo(name, width, height), ReadOrientation(info.Metadata), ReadPngBitDepth(format, info.Metadata),
            jpeg.ChromaSubsampling, jpeg.Progressive, format == ImageFormatKind.Jpeg && (jpeg.IsYCbCr || jpeg.Components == 1));
    }

    private static ushort ReadOrientation(ImageMetadata? metadata)
    {
        // ImageSharp parses the EXIF block lazily, on this first read, and a malformed one throws from inside its
        // reader (ArgumentOutOfRangeException for an entry whose value lies outside the block: found by fuzzing).
        // The pixels do not depend on EXIF and PIL ignores the block, so an unreadable one means "no orientation"
        // rather than a rejected image.
        try
        {
            var value = metadata?.ExifProfile?.GetValue(ExifTag.Orientation);
            return value?.Value ?? 1;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return 1;
        }
    }

    private static PngBitDepth? ReadPngBitDepth(ImageFormatKind format, ImageMetadata? metadata) =>
        format == ImageFormatKind.Png ? metadata?.GetPngMetadata().BitDepth : null;

    /// <summary>
    /// What decoding and preprocessing an image will allocate at most, from its header: the decoded pixels plus the
    /// decoder's own buffers, per format (progressive JPEG keeps every coefficient: 2 bytes × 3 components; a 16-bit
    /// PNG decodes to 8 bytes a pixel before it is narrowed to 3; WebP lossless decodes to 4-byte ARGB; BMP RLE and
    /// GIF keep a byte a pixel of indices), a rotated copy when EXIF asks for a quarter turn, and 8 MiB of rows and
    /// scratch.
    /// </summary>
    public long EstimateDecodeBytes(PreprocessingSpec spec)
    {
        long pixels = (long)Info.Width * Info.Height;
        int perPixel = Format switch
        {
            ImageFormatKind.Jpeg => Progressive ? 3 + 6 : 3 + 2,
            ImageFormatKind.Png => PngBitDepth == SixLabors.ImageSharp.Formats.Png.PngBitDepth.Bit16 ? 8 + 3 : 3 + 1,
            ImageFormatKind.Gif => 3 + 2,
            ImageFormatKind.Bmp => 3 + 5,
            ImageFormatKind.Webp => 3 + 5,
            _ => 8,
        };
        if (spec.ApplyExifOrientation && Orientation is >= 5 and <= 8)
        {
            perPixel += 3;
        }

        return (pixels * perPixel) + (8L << 20);
    }
}
