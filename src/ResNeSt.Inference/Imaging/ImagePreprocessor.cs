using System.Diagnostics;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging.Framing;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// Encoded image bytes in, one normalised NCHW tensor slot out, matching PIL + torchvision on the same file.
/// Validates before it decodes: format from the magic bytes, byte count, and the dimensions in the header against the
/// pixel budget. Every failure caused by the bytes is an <see cref="ImageRejectedException"/>. Thread-safe: one
/// instance is shared by all callers.
/// </summary>
public sealed class ImagePreprocessor
{
    private static readonly Lazy<Configuration> s_identifyConfiguration = new(() => CreateConfiguration(ImageLimits.Default));

    // Decoders hold options only; ImageSharp creates the per-call decoder state, so sharing them is safe.
    private static readonly JpegDecoder s_jpeg = new();
    private static readonly PngDecoder s_png = new();
    private static readonly BmpDecoder s_bmp = new();
    private static readonly WebpDecoder s_webp = new();

    // PIL reads the first frame of an animated GIF; never decode (or allocate for) the others.
    private static readonly GifDecoder s_gif = new() { DecodingMode = FrameDecodingMode.First, MaxFrames = 1 };

    private readonly Configuration _configuration;
    private readonly DecodeBudget _budget;

    /// <param name="limits">What one image may cost.</param>
    /// <param name="budget">What all decodes together may hold; null shares <see cref="DecodeBudget.Process"/>.</param>
    /// <param name="decode">Whether large JPEGs are decoded at reduced size (<see cref="DecodeMode.Fast"/>).</param>
    public ImagePreprocessor(ImageLimits limits, DecodeBudget? budget = null, DecodeMode decode = DecodeMode.Exact)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        if (!Enum.IsDefined(decode))
        {
            throw new ArgumentOutOfRangeException(nameof(decode), decode, "Unknown decode mode.");
        }

        Limits = limits;
        DecodeMode = decode;
        _configuration = CreateConfiguration(limits);
        _budget = budget ?? DecodeBudget.Process;
    }

    public ImageLimits Limits { get; }

    public DecodeBudget Budget => _budget;

    /// <summary>Whether large JPEGs are decoded at reduced size (<see cref="DecodeMode.Fast"/>) or in full.</summary>
    public DecodeMode DecodeMode { get; }

    /// <summary>
    /// Identifies, validates, decodes and preprocesses one image into <paramref name="destination"/>
    /// (3·S·S floats: planes R, G, B, each S×S row-major, normalised).
    /// </summary>
    /// <returns>The format and the dimensions the file declares (before any EXIF rotation).</returns>
    /// <exception cref="ImageRejectedException">The bytes are not an acceptable image.</exception>
    public ImageInfo Preprocess(ReadOnlySpan<byte> encoded, Span<float> destination, PreprocessingSpec spec) =>
        Preprocess(encoded, destination, spec, CancellationToken.None);

    /// <summary>
    /// As <see cref="Preprocess(ReadOnlySpan{byte}, Span{float}, PreprocessingSpec)"/>; decoding stops when
    /// <paramref name="cancellationToken"/> is cancelled (<see cref="OperationCanceledException"/>) or when it runs
    /// longer than <see cref="ImageLimits.DecodeTimeout"/> (<see cref="ImageRejectionReason.DecodeTimeout"/>).
    /// </summary>
    public ImageInfo Preprocess(ReadOnlySpan<byte> encoded, Span<float> destination, PreprocessingSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (destination.Length != spec.TensorLength)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats; the spec needs {spec.TensorLength}.", nameof(destination));
        }

        // The header is read, and the decode's memory taken from the process-wide budget, before the decode time limit
        // starts: waiting for memory other decodes hold is not this image's slowness.
        var header = ReadHeader(encoded, Limits, _configuration, cancellationToken);
        using var lease = _budget.Acquire(EstimateDecodeBytes(header, spec), cancellationToken);
        if (Limits.DecodeTimeout is not { } timeout)
        {
            return PreprocessCore(encoded, header, destination, spec, decodeDeadline: long.MaxValue, cancellationToken);
        }

        // The timer stops a slow decode part-way (ImageSharp polls the token between rows), but its callback needs a
        // free thread-pool thread, so a busy worker could let an over-long decode finish unnoticed; the clock check
        // after decoding makes the limit hold regardless of scheduling.
        long decodeDeadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return PreprocessCore(encoded, header, destination, spec, decodeDeadline, deadline.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw DecodeTimedOut(timeout, ex);
        }
        catch (TimeoutException ex)
        {
            throw DecodeTimedOut(timeout, ex);
        }
    }

    /// <summary>
    /// What decoding and preprocessing an image will allocate at most, from its header: the decoded pixels plus the
    /// decoder's own buffers, per format (progressive JPEG keeps every coefficient: 2 bytes × 3 components; a 16-bit
    /// PNG decodes to 8 bytes a pixel before it is narrowed to 3; WebP lossless decodes to 4-byte ARGB; BMP RLE and
    /// GIF keep a byte a pixel of indices), a rotated copy when EXIF asks for a quarter turn, and 8 MiB of rows and
    /// scratch.
    /// </summary>
    internal static long EstimateDecodeBytes(in Header header, PreprocessingSpec spec)
    {
        long pixels = (long)header.Info.Width * header.Info.Height;
        int perPixel = header.Format switch
        {
            ImageFormatKind.Jpeg => header.Progressive ? 3 + 6 : 3 + 2,
            ImageFormatKind.Png => header.PngBitDepth == PngBitDepth.Bit16 ? 8 + 3 : 3 + 1,
            ImageFormatKind.Gif => 3 + 2,
            ImageFormatKind.Bmp => 3 + 5,
            ImageFormatKind.Webp => 3 + 5,
            _ => 8,
        };
        if (spec.ApplyExifOrientation && header.Orientation is >= 5 and <= 8)
        {
            perPixel += 3;
        }

        return (pixels * perPixel) + (8L << 20);
    }

    private static ImageRejectedException DecodeTimedOut(TimeSpan timeout, Exception inner) =>
        new(ImageRejectionReason.DecodeTimeout, $"Decoding took longer than the {timeout.TotalMilliseconds:F0} ms limit.", inner);

    private ImageInfo PreprocessCore(
        ReadOnlySpan<byte> encoded, in Header header, Span<float> destination, PreprocessingSpec spec, long decodeDeadline, CancellationToken cancellationToken)
    {
        int scale = DecodeMode == DecodeMode.Fast && header.ScalableJpeg
            ? ScaledJpegDecoder.ScaleFor(header.Info.Width, header.Info.Height, spec)
            : 1;
        var scaled = scale > 1
            ? ScaledJpegDecoder.Decode(encoded, header.Info.Width, header.Info.Height, scale, _configuration, cancellationToken)
            : null;
        using var image = scaled ?? Decode(encoded, header, cancellationToken);
        if (Stopwatch.GetTimestamp() > decodeDeadline)
        {
            throw new TimeoutException();
        }

        bool orient = spec.ApplyExifOrientation && header.Orientation is >= 2 and <= 8;
        if (scaled is not null)
        {
            // libjpeg upsampled the chroma itself; the new image carries no metadata, so give AutoOrient the tag.
            if (orient)
            {
                image.Metadata.ExifProfile = new ExifProfile();
                image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, header.Orientation);
            }
        }
        else if (header.ChromaSubsampling != (1, 1))
        {
            // ImageSharp replicates subsampled chroma; libjpeg (PIL) interpolates it. Redo it libjpeg's way, on the
            // pixels the resampler will read (all of them when a rotation moves them first).
            var region = orient ? image.Bounds() : PilResampler.SourceRegion(ResamplePlan.For(image.Width, image.Height, spec));
            JpegChromaUpsampling.Apply(image, header.ChromaSubsampling.H, header.ChromaSubsampling.V, region);
        }

        if (orient)
        {
            // A lossless permutation of pixels (flips and quarter turns), so parity with PIL + exif_transpose holds.
            image.Mutate(static x => x.AutoOrient());
        }

        var plan = scaled is null ? ResamplePlan.For(image.Width, image.Height, spec) : ScaledPlan(header, orient, scale, image, spec);
        Span<float> mean = [spec.Mean[0], spec.Mean[1], spec.Mean[2]];
        Span<float> std = [spec.Std[0], spec.Std[1], spec.Std[2]];
        PilResampler.Resample(image, plan, destination, mean, std);
        return header.Info;
    }


    /// <summary>
    /// The full-size image's plan carried to its reduced decode (see <see cref="ResamplePlan.ForScaled"/>): what the
    /// exact path would sample, read from the smaller image.
    /// </summary>
    private static ResamplePlan ScaledPlan(in Header header, bool orient, int scale, Image<Rgb24> image, PreprocessingSpec spec)
    {
        int width = header.Info.Width;
        int height = header.Info.Height;
        var (scaledWidth, scaledHeight) = ScaledJpegDecoder.ScaledSize(width, height, scale);
        // The part of the last reduced column/row past the picture, in reduced pixels.
        float padX = (float)((scaledWidth * scale) - width) / scale;
        float padY = (float)((scaledHeight * scale) - height) / scale;
        int orientation = orient ? header.Orientation : 1;
        bool transposed = orientation >= 5;
        // Which axes of the upright image run backwards through the stored one (EXIF orientations 2–8).
        bool flipX = orientation is 2 or 3 or 6 or 7;
        bool flipY = orientation is 3 or 4 or 7 or 8;
        (int uprightWidth, int uprightHeight) = transposed ? (height, width) : (width, height);
        (float padUprightX, float padUprightY) = transposed ? (padY, padX) : (padX, padY);
        return ResamplePlan.ForScaled(
            uprightWidth, uprightHeight, scale, image.Width, image.Height, spec, flipX ? padUprightX : 0f, flipY ? padUprightY : 0f);
    }

    /// <summary>
    /// Decodes <paramref name="encoded"/> under the same checks and budget as <see cref="Preprocess(ReadOnlySpan{byte}, Span{float}, PreprocessingSpec, CancellationToken)"/>
    /// (format by content, framing, pixel budget, allocator limit, decode timeout) and turns it upright by its EXIF
    /// orientation: the pixels a person should see. The caller disposes the image.
    /// </summary>
    /// <exception cref="ImageRejectedException">The bytes are not an acceptable image.</exception>
    internal Image<Rgb24> DecodeUpright(ReadOnlySpan<byte> encoded, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (Limits.DecodeTimeout is { } timeout)
        {
            deadline.CancelAfter(timeout);
        }

        try
        {
            var header = ReadHeader(encoded, Limits, _configuration, deadline.Token);
            var image = Decode(encoded, header, deadline.Token);
            if (header.Orientation is >= 2 and <= 8)
            {
                image.Mutate(static x => x.AutoOrient());
            }

            return image;
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && Limits.DecodeTimeout is { } limit)
        {
            throw DecodeTimedOut(limit, ex);
        }
    }

    /// <summary>Reads the format and dimensions from the header alone (no pixel decoding) and applies the limits.</summary>
    /// <exception cref="ImageRejectedException">The bytes are not an acceptable image.</exception>
    public static ImageInfo Identify(ReadOnlySpan<byte> encoded, ImageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        return ReadHeader(encoded, limits, s_identifyConfiguration.Value, CancellationToken.None).Info;
    }

    /// <summary>
    /// An ImageSharp configuration that knows only the allowed formats, decodes on the calling thread (the batcher
    /// already runs one image per core), and whose allocator refuses any buffer a lying header could ask for.
    /// </summary>
    private static Configuration CreateConfiguration(ImageLimits limits)
    {
        var configuration = new Configuration(
            new JpegConfigurationModule(),
            new PngConfigurationModule(),
            new GifConfigurationModule(),
            new BmpConfigurationModule(),
            new WebpConfigurationModule())
        {
            MaxDegreeOfParallelism = 1,
            PreferContiguousImageBuffers = false,
            MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions
            {
                MaximumPoolSizeMegabytes = limits.DecoderPoolMegabytes,
                AllocationLimitMegabytes = limits.AllocationLimitMegabytes,
            }),
        };
        return configuration;
    }

    private static IImageDecoder DecoderFor(ImageFormatKind format) => format switch
    {
        ImageFormatKind.Jpeg => s_jpeg,
        ImageFormatKind.Png => s_png,
        ImageFormatKind.Gif => s_gif,
        ImageFormatKind.Bmp => s_bmp,
        ImageFormatKind.Webp => s_webp,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    private static unsafe Header ReadHeader(ReadOnlySpan<byte> encoded, ImageLimits limits, Configuration configuration, CancellationToken cancellationToken)
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
                info = ((IImageInfoDetector)DecoderFor(format)).Identify(configuration, stream, cancellationToken)
                    ?? throw new ImageRejectedException(ImageRejectionReason.Corrupt, $"The {name} header could not be read.");
            }
        }
        catch (Exception ex) when (IsDecoderFault(ex))
        {
            throw Translate(ex, name);
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

        return new Header(
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

    private unsafe Image<Rgb24> Decode(ReadOnlySpan<byte> encoded, in Header header, CancellationToken cancellationToken)
    {
        try
        {
            fixed (byte* p = encoded)
            {
                using var stream = new UnmanagedMemoryStream(p, encoded.Length);
                var decoder = DecoderFor(header.Format);
                if (header.PngBitDepth == PngBitDepth.Bit16)
                {
                    return DecodeSixteenBit(_configuration, stream, decoder, cancellationToken);
                }

                return CheckSize(decoder.Decode<Rgb24>(_configuration, stream, cancellationToken), header);
            }
        }
        catch (Exception ex) when (IsDecoderFault(ex))
        {
            throw Translate(ex, header.Info.Format);
        }
    }

    private static Image<Rgb24> CheckSize(Image<Rgb24> image, in Header header)
    {
        if (image.Width == header.Info.Width && image.Height == header.Info.Height)
        {
            return image;
        }

        image.Dispose();
        throw new ImageRejectedException(ImageRejectionReason.Corrupt, $"The {header.Info.Format} decoded to a size other than its header declares.");
    }

    private static Image<Rgb24> DecodeSixteenBit(Configuration configuration, Stream stream, IImageDecoder decoder, CancellationToken cancellationToken)
    {
        // PIL unpacks 16-bit PNG samples by keeping the high byte; ImageSharp's own narrowing rounds. Decode wide and
        // narrow here as PIL does. (For 16-bit grey PIL goes through mode "I" and clamps to 255, which whites out the
        // image; that is a PIL quirk we do not reproduce: the high byte is kept there too.)
        using var wide = decoder.Decode<Rgba64>(configuration, stream, cancellationToken);
        var narrow = new Image<Rgb24>(configuration, wide.Width, wide.Height);
        try
        {
            for (int y = 0; y < wide.Height; y++)
            {
                // 40 megapixels take a while to narrow; the decode time limit applies here too.
                if ((y & 255) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var src = wide.DangerousGetPixelRowMemory(y).Span;
                var dst = narrow.DangerousGetPixelRowMemory(y).Span;
                for (int x = 0; x < src.Length; x++)
                {
                    dst[x] = new Rgb24((byte)(src[x].R >> 8), (byte)(src[x].G >> 8), (byte)(src[x].B >> 8));
                }
            }

            return narrow;
        }
        catch
        {
            narrow.Dispose(); // a cancelled narrowing must not leave a 40-megapixel buffer to the finalizer
            throw;
        }
    }

    /// <summary>
    /// An exception the decoder raised because of the bytes (it becomes a rejection). Cancellation is the caller's, and
    /// a genuine <see cref="OutOfMemoryException"/> is the process's state, not the image's: calling it corrupt would
    /// store a permanent verdict for a transient fault. (ImageSharp's own allocator limit is
    /// <see cref="InvalidMemoryOperationException"/>, which is the image's.)
    /// </summary>
    internal static bool IsDecoderFault(Exception ex) =>
        ex is not (ImageRejectedException or OperationCanceledException or OutOfMemoryException);

    // The decoder's own message stays in the inner exception, for the logs: the rejection text reaches uploaders and
    // the results table, and an exception message (ours or ImageSharp's) is not something to show them.
    private static ImageRejectedException Translate(Exception ex, string format) => ex switch
    {
        InvalidMemoryOperationException => new ImageRejectedException(
            ImageRejectionReason.PixelBudgetExceeded, $"Decoding the {format} would need more memory than the limits allow.", ex),
        NotSupportedException => new ImageRejectedException(
            ImageRejectionReason.UnsupportedFormat, $"The {format} uses a feature the decoder does not support.", ex),
        _ => new ImageRejectedException(ImageRejectionReason.Corrupt, $"The {format} data is damaged.", ex),
    };

    /// <param name="ScalableJpeg">A greyscale or YCbCr JPEG, which libjpeg and PIL turn into the same RGB (CMYK and
    /// Adobe RGB JPEGs are converted differently by the two, so they always take the full-size ImageSharp path).</param>
    internal readonly record struct Header(
        ImageFormatKind Format, ImageInfo Info, ushort Orientation, PngBitDepth? PngBitDepth, (int H, int V) ChromaSubsampling, bool Progressive,
        bool ScalableJpeg);
}
