using System.Buffers;
using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// Reduced-size JPEG decoding: libjpeg-turbo (inside SkiaSharp's native library) decodes at 1/2, 1/4 or 1/8 scale by
/// running a smaller IDCT per block, exactly as PIL's <c>Image.draft('RGB', (R, R))</c> does, so a 12-megapixel phone
/// photo costs a 0.2-megapixel decode. The caller has already checked the framing, the byte count and the declared
/// dimensions against the pixel budget (ImageHeader.Read); this class is only reached through
/// <see cref="ImagePreprocessor.Preprocess(ReadOnlySpan{byte}, Span{float}, PreprocessingSpec, CancellationToken)"/>.
/// </summary>
internal static unsafe class ScaledJpegDecoder
{
    /// <summary>Rows decoded per native call; the cancellation token (and so the decode timeout) is polled between them.</summary>
    private const int RowsPerChunk = 16;

    /// <summary>
    /// PIL's draft rule for a requested size R×R: the largest of 8, 4, 2 not above <c>min(w // R, h // R)</c>, or 1
    /// (no reduction). R is the side the recipe resizes from: <c>hub</c>'s resize size, or S + 32 for <c>paper</c>
    /// (its crop is S/(S+32) of the shorter side, so the crop keeps at least S pixels).
    /// </summary>
    public static int ScaleFor(int width, int height, PreprocessingSpec spec)
    {
        int requested = spec.Recipe == ResNeSt.Models.Metadata.PreprocessingRecipe.Paper ? spec.CropSize + 32 : spec.ResizeSize;
        int ratio = Math.Min(width / requested, height / requested);
        return ratio >= 8 ? 8 : ratio >= 4 ? 4 : ratio >= 2 ? 2 : 1;
    }

    /// <summary>libjpeg's output size at 1/<paramref name="scale"/>: each side rounded up.</summary>
    public static (int Width, int Height) ScaledSize(int width, int height, int scale) =>
        ((width + scale - 1) / scale, (height + scale - 1) / scale);

    /// <summary>
    /// Decodes <paramref name="encoded"/> at 1/<paramref name="scale"/> into a new image from
    /// <paramref name="configuration"/>'s allocator (so ImageSharp's allocation limit holds for it as well).
    /// </summary>
    /// <returns>The image, or null when libjpeg offers no such scale for this file (the caller decodes it in full).</returns>
    /// <exception cref="ImageRejectedException">The data is damaged or its header disagrees with <paramref name="width"/>×<paramref name="height"/>.</exception>
    public static Image<Rgb24>? Decode(
        ReadOnlySpan<byte> encoded, int width, int height, int scale, Configuration configuration, CancellationToken cancellationToken)
    {
        var (outWidth, outHeight) = ScaledSize(width, height, scale);
        fixed (byte* p = encoded)
        {
            // Wraps the caller's pinned bytes (no copy); the codec and the data are released before the pin ends.
            using var data = SKData.Create((IntPtr)p, encoded.Length);
            using var codec = SKCodec.Create(data)
                ?? throw new ImageRejectedException(ImageRejectionReason.Corrupt, "The jpeg header could not be read.");
            if (codec.EncodedFormat != SKEncodedImageFormat.Jpeg || codec.Info.Width != width || codec.Info.Height != height)
            {
                throw new ImageRejectedException(ImageRejectionReason.Corrupt, "The jpeg header disagrees with itself.");
            }

            if (codec.GetScaledDimensions(1f / scale) != new SKSizeI(outWidth, outHeight))
            {
                return null;
            }

            // Colour space left null: no colour management, as PIL (which ignores ICC profiles).
            var info = new SKImageInfo(outWidth, outHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            var started = codec.StartScanlineDecode(info);
            if (started != SKCodecResult.Success)
            {
                throw new ImageRejectedException(
                    started == SKCodecResult.Unimplemented ? ImageRejectionReason.UnsupportedFormat : ImageRejectionReason.Corrupt,
                    started == SKCodecResult.Unimplemented ? "The jpeg uses a feature the decoder does not support." : "The jpeg data is damaged.");
            }

            var image = new Image<Rgb24>(configuration, outWidth, outHeight);
            int rowBytes = outWidth * 4;
            byte[] chunk = ArrayPool<byte>.Shared.Rent(rowBytes * RowsPerChunk);
            try
            {
                fixed (byte* rgba = chunk)
                {
                    for (int y = 0; y < outHeight; y += RowsPerChunk)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        int rows = Math.Min(RowsPerChunk, outHeight - y);
                        // Fewer rows than asked: libjpeg stopped on damaged data (Skia would fill the rest with zeros).
                        if (codec.GetScanlines((IntPtr)rgba, rows, rowBytes) != rows)
                        {
                            throw new ImageRejectedException(ImageRejectionReason.Corrupt, "The jpeg data is damaged.");
                        }

                        for (int r = 0; r < rows; r++)
                        {
                            DropAlpha(rgba + (r * rowBytes), MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y + r).Span), outWidth);
                        }
                    }
                }

                return image;
            }
            catch
            {
                image.Dispose();
                throw;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }
    }

    private static void DropAlpha(byte* rgba, Span<byte> rgb, int pixels)
    {
        fixed (byte* dst = rgb)
        {
            for (int x = 0; x < pixels; x++)
            {
                dst[(3 * x) + 0] = rgba[(4 * x) + 0];
                dst[(3 * x) + 1] = rgba[(4 * x) + 1];
                dst[(3 * x) + 2] = rgba[(4 * x) + 2];
            }
        }
    }
}
