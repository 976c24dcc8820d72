using System.Diagnostics;
using ResNeSt.Inference.Classification;
using SixLabors.ImageSharp;
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
    private static readonly Lazy<Configuration> s_identifyConfiguration = new(() => ImageSharpDecoding.CreateConfiguration(ImageLimits.Default));

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
        _configuration = ImageSharpDecoding.CreateConfiguration(limits);
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
        var header = ImageHeader.Read(encoded, Limits, _configuration, cancellationToken);
        using var lease = _budget.Acquire(header.EstimateDecodeBytes(spec), cancellationToken);
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

    private static ImageRejectedException DecodeTimedOut(TimeSpan timeout, Exception inner) =>
        new(ImageRejectionReason.DecodeTimeout, $"Decoding took longer than the {timeout.TotalMilliseconds:F0} ms limit.", inner);

    private ImageInfo PreprocessCore(
        ReadOnlySpan<byte> encoded, in ImageHeader header, Span<float> destination, PreprocessingSpec spec, long decodeDeadline, CancellationToken cancellationToken)
    {
        int scale = DecodeMode == DecodeMode.Fast && header.ScalableJpeg
            ? ScaledJpegDecoder.ScaleFor(header.Info.Width, header.Info.Height, spec)
            : 1;
        var scaled = scale > 1
            ? ScaledJpegDecoder.Decode(encoded, header.Info.Width, header.Info.Height, scale, _configuration, cancellationToken)
            : null;
        using var image = scaled ?? ImageSharpDecoding.Decode(encoded, header, _configuration, cancellationToken);
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
    private static ResamplePlan ScaledPlan(in ImageHeader header, bool orient, int scale, Image<Rgb24> image, PreprocessingSpec spec)
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
            var header = ImageHeader.Read(encoded, Limits, _configuration, deadline.Token);
            var image = ImageSharpDecoding.Decode(encoded, header, _configuration, deadline.Token);
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
        return ImageHeader.Read(encoded, limits, s_identifyConfiguration.Value, CancellationToken.None).Info;
    }
}
