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
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// ImageSharp as the pipeline uses it: a configuration that knows only the accepted formats and refuses oversized
/// buffers, one shared decoder per format, full-size decoding to 8-bit RGB the way PIL narrows, and the translation of
/// whatever the decoder throws because of the bytes into an <see cref="ImageRejectedException"/>.
/// </summary>
internal static class ImageSharpDecoding
{
    // Decoders hold options only; ImageSharp creates the per-call decoder state, so sharing them is safe.
    private static readonly JpegDecoder s_jpeg = new();
    private static readonly PngDecoder s_png = new();
    private static readonly BmpDecoder s_bmp = new();
    private static readonly WebpDecoder s_webp = new();

    // PIL reads the first frame of an animated GIF; never decode (or allocate for) the others.
    private static readonly GifDecoder s_gif = new() { DecodingMode = FrameDecodingMode.First, MaxFrames = 1 };

    /// <summary>
    /// An ImageSharp configuration that knows only the allowed formats, decodes on the calling thread (the batcher
    /// already runs one image per core), and whose allocator refuses any buffer a lying header could ask for.
    /// </summary>
    public static Configuration CreateConfiguration(ImageLimits limits)
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

    public static IImageDecoder DecoderFor(ImageFormatKind format) => format switch
    {
        ImageFormatKind.Jpeg => s_jpeg,
        ImageFormatKind.Png => s_png,
        ImageFormatKind.Gif => s_gif,
        ImageFormatKind.Bmp => s_bmp,
        ImageFormatKind.Webp => s_webp,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Decodes the image <paramref name="header"/> describes to 8-bit RGB, at its declared size.</summary>
    /// <exception cref="ImageRejectedException">The data is damaged, unsupported, or needs more memory than the limits allow.</exception>
    public static unsafe Image<Rgb24> Decode(ReadOnlySpan<byte> encoded, in ImageHeader header, Configuration configuration, CancellationToken cancellationToken)
    {
        try
        {
            fixed (byte* p = encoded)
            {
                using var stream = new UnmanagedMemoryStream(p, encoded.Length);
                var decoder = DecoderFor(header.Format);
                if (header.PngBitDepth == PngBitDepth.Bit16)
                {
                    return DecodeSixteenBit(configuration, stream, decoder, cancellationToken);
                }

                return CheckSize(decoder.Decode<Rgb24>(configuration, stream, cancellationToken), header);
            }
        }
        catch (Exception ex) when (IsDecoderFault(ex))
        {
            throw Translate(ex, header.Info.Format);
        }
    }

    private static Image<Rgb24> CheckSize(Image<Rgb24> image, in ImageHeader header)
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
    public static bool IsDecoderFault(Exception ex) =>
        ex is not (ImageRejectedException or OperationCanceledException or OutOfMemoryException);

    // The decoder's own message stays in the inner exception, for the logs: the rejection text reaches uploaders and
    // the results table, and an exception message (ours or ImageSharp's) is not something to show them.
    public static ImageRejectedException Translate(Exception ex, string format) => ex switch
    {
        InvalidMemoryOperationException => new ImageRejectedException(
            ImageRejectionReason.PixelBudgetExceeded, $"Decoding the {format} would need more memory than the limits allow.", ex),
        NotSupportedException => new ImageRejectedException(
            ImageRejectionReason.UnsupportedFormat, $"The {format} uses a feature the decoder does not support.", ex),
        _ => new ImageRejectedException(ImageRejectionReason.Corrupt, $"The {format} data is damaged.", ex),
    };
}
