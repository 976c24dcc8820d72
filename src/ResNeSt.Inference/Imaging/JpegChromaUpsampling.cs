using System.Buffers;
using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// Re-creates libjpeg-turbo's "fancy" (triangle-filtered) chroma upsampling on a 4:2:0 or 4:2:2 JPEG that ImageSharp
/// has decoded with replicated chroma. ImageSharp rounds Y, Cb and Cr to integers before its colour conversion and
/// rounds the RGB result, so the planes can be recovered from the pixels: Y per pixel (its error is under half a
/// level), chroma per subsampled block (the block's pixels share one chroma sample, and their average cancels the
/// rounding). The chroma planes are then upsampled and converted with libjpeg's own integer arithmetic (jdsample.c,
/// jdcolor.c). Pixels with a clipped channel cannot be inverted and keep ImageSharp's values.
/// This takes 4:2:0 JPEGs from about 0.25/255 mean difference to PIL down to the 4:4:4 level.
/// </summary>
internal static class JpegChromaUpsampling
{
    private const int ScaleBits = 16;
    private const int OneHalf = 1 << (ScaleBits - 1);

    private static readonly int[] s_crToR = new int[256];
    private static readonly int[] s_cbToB = new int[256];
    private static readonly int[] s_crToG = new int[256];
    private static readonly int[] s_cbToG = new int[256];

#pragma warning disable CA1810 // the tables depend on each other's loop variable; an initialiser per table would repeat it
    static JpegChromaUpsampling()
#pragma warning restore CA1810
    {
        // libjpeg's build_ycc_rgb_table: FIX(x) = (int)(x · 2^16 + 0.5); x runs over sample − 128.
        static long Fix(double x) => (long)((x * (1L << ScaleBits)) + 0.5);
        for (int i = 0; i < 256; i++)
        {
            long x = i - 128;
            s_crToR[i] = (int)(((Fix(1.40200) * x) + OneHalf) >> ScaleBits);
            s_cbToB[i] = (int)(((Fix(1.77200) * x) + OneHalf) >> ScaleBits);
            s_crToG[i] = (int)(-Fix(0.71414) * x);
            s_cbToG[i] = (int)((-Fix(0.34414) * x) + OneHalf);
        }
    }

    public static void Apply(Image<Rgb24> image, int h, int v)
    {
        if (h is not (1 or 2) || v is not (1 or 2) || (h == 1 && v == 1))
        {
            throw new ArgumentOutOfRangeException(nameof(h), "Only 4:2:0 (2×2) and 4:2:2 (2×1) subsampling are handled.");
        }

        int width = image.Width;
        int height = image.Height;
        int chromaWidth = (width + h - 1) / h;
        int chromaHeight = (height + v - 1) / v;
        byte[] cb = ArrayPool<byte>.Shared.Rent(chromaWidth * chromaHeight);
        byte[] cr = ArrayPool<byte>.Shared.Rent(chromaWidth * chromaHeight);
        float[] sums = ArrayPool<float>.Shared.Rent(chromaWidth * 8);
        int[] sums16 = ArrayPool<int>.Shared.Rent(chromaWidth * 4);
        byte[] upCb = ArrayPool<byte>.Shared.Rent((2 * chromaWidth) + 2);
        byte[] upCr = ArrayPool<byte>.Shared.Rent((2 * chromaWidth) + 2);
        try
        {
            RecoverChroma(image, h, v, chromaWidth, chromaHeight, cb, cr, sums);
            for (int y = 0; y < height; y++)
            {
                var row = MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y).Span);
                int cy = y / v;
                if (v == 2)
                {
                    // The nearer chroma row weighs 3, the further one (above for even rows, below for odd) 1;
                    // libjpeg's context rows repeat the first and last rows at the edges.
                    int other = Math.Clamp((y & 1) == 0 ? cy - 1 : cy + 1, 0, chromaHeight - 1);
                    UpsampleH2V2(cb.AsSpan(cy * chromaWidth, chromaWidth), cb.AsSpan(other * chromaWidth, chromaWidth), upCb, sums16);
                    UpsampleH2V2(cr.AsSpan(cy * chromaWidth, chromaWidth), cr.AsSpan(other * chromaWidth, chromaWidth), upCr, sums16);
                }
                else
                {
                    UpsampleH2V1(cb.AsSpan(cy * chromaWidth, chromaWidth), upCb);
                    UpsampleH2V1(cr.AsSpan(cy * chromaWidth, chromaWidth), upCr);
                }

                ConvertRow(row, width, h, cb.AsSpan(cy * chromaWidth, chromaWidth), cr.AsSpan(cy * chromaWidth, chromaWidth), upCb, upCr);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(cb);
            ArrayPool<byte>.Shared.Return(cr);
            ArrayPool<float>.Shared.Return(sums);
            ArrayPool<int>.Shared.Return(sums16);
            ArrayPool<byte>.Shared.Return(upCb);
            ArrayPool<byte>.Shared.Return(upCr);
        }
    }

    // ImageSharp's YCbCr → RGB (JFIF) coefficients: channel = Y + A·(Cb − 128) + B·(Cr − 128).
    private const float RCr = 1.402f;
    private const float GCb = -0.344136f;
    private const float GCr = -0.714136f;
    private const float BCb = 1.772f;

    private static bool IsClipped(byte value) => value is 0 or 255;

    /// <summary>
    /// Each chroma sample is solved from its block's pixels: every pair of unclipped channels of one pixel gives a
    /// linear equation in (Cb, Cr) free of that pixel's Y; the least-squares solution is rounded to a sample. Blocks
    /// without two independent equations (all clipped) fall back to the mean of the naive per-pixel inversion.
    /// </summary>
    private static void RecoverChroma(Image<Rgb24> image, int h, int v, int chromaWidth, int chromaHeight, byte[] cb, byte[] cr, float[] sums)
    {
        // Per block: the normal equations (AᵀA is symmetric: a11, a12, a22; Aᵀb: b1, b2) and the fallback sums.
        const int Fields = 8;
        var acc = sums.AsSpan(0, Fields * chromaWidth);
        for (int by = 0; by < chromaHeight; by++)
        {
            acc.Clear();
            for (int y = by * v; y < Math.Min((by + 1) * v, image.Height); y++)
            {
                var row = MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y).Span);
                for (int x = 0; x < image.Width; x++)
                {
                    byte r = row[3 * x], g = row[(3 * x) + 1], b = row[(3 * x) + 2];
                    var a = acc.Slice(x / h * Fields, Fields);
                    float luma = (0.299f * r) + (0.587f * g) + (0.114f * b);
                    a[5] += ((b - luma) / BCb) + 128f;
                    a[6] += ((r - luma) / RCr) + 128f;
                    a[7] += 1;
                    bool okR = !IsClipped(r), okG = !IsClipped(g), okB = !IsClipped(b);
                    if (okR && okG)
                    {
                        AddEquation(a, GCb, GCr - RCr, g - r);
                    }

                    if (okR && okB)
                    {
                        AddEquation(a, BCb, -RCr, b - r);
                    }

                    if (okG && okB && !(okR && okG && okB))
                    {
                        AddEquation(a, BCb - GCb, -GCr, b - g);
                    }
                }
            }

            for (int bx = 0; bx < chromaWidth; bx++)
            {
                var a = acc.Slice(bx * Fields, Fields);
                float det = (a[0] * a[2]) - (a[1] * a[1]);
                float pb, pr;
                if (det > 1e-3f * (a[0] + a[2]) * (a[0] + a[2]))
                {
                    pb = (((a[2] * a[3]) - (a[1] * a[4])) / det) + 128f;
                    pr = (((a[0] * a[4]) - (a[1] * a[3])) / det) + 128f;
                }
                else
                {
                    pb = a[5] / a[7];
                    pr = a[6] / a[7];
                }

                cb[(by * chromaWidth) + bx] = ToSample(pb);
                cr[(by * chromaWidth) + bx] = ToSample(pr);
            }
        }
    }

    /// <summary>Adds one equation p·Cb' + q·Cr' = d to a block's normal equations.</summary>
    private static void AddEquation(Span<float> a, float p, float q, float d)
    {
        a[0] += p * p;
        a[1] += p * q;
        a[2] += q * q;
        a[3] += p * d;
        a[4] += q * d;
    }

    private static byte ToSample(float value) => (byte)Math.Clamp((int)MathF.Round(value), 0, 255);

    /// <summary>libjpeg h2v2_fancy_upsample for one output row: vertical 3:1 column sums, then horizontal 3:1.</summary>
    private static void UpsampleH2V2(ReadOnlySpan<byte> near, ReadOnlySpan<byte> far, Span<byte> output, Span<int> colSums)
    {
        int n = near.Length;
        for (int i = 0; i < n; i++)
        {
            colSums[i] = (near[i] * 3) + far[i];
        }

        if (n == 1)
        {
            output[0] = (byte)(((colSums[0] * 4) + 8) >> 4);
            output[1] = (byte)(((colSums[0] * 4) + 7) >> 4);
            return;
        }

        output[0] = (byte)(((colSums[0] * 4) + 8) >> 4);
        output[1] = (byte)(((colSums[0] * 3) + colSums[1] + 7) >> 4);
        for (int i = 1; i < n - 1; i++)
        {
            output[2 * i] = (byte)(((colSums[i] * 3) + colSums[i - 1] + 8) >> 4);
            output[(2 * i) + 1] = (byte)(((colSums[i] * 3) + colSums[i + 1] + 7) >> 4);
        }

        output[(2 * n) - 2] = (byte)(((colSums[n - 1] * 3) + colSums[n - 2] + 8) >> 4);
        output[(2 * n) - 1] = (byte)(((colSums[n - 1] * 4) + 7) >> 4);
    }

    /// <summary>libjpeg h2v1_fancy_upsample for one row: horizontal 3:1 with rounding biases 1 and 2.</summary>
    private static void UpsampleH2V1(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int n = input.Length;
        if (n == 1)
        {
            output[0] = output[1] = input[0];
            return;
        }

        output[0] = input[0];
        output[1] = (byte)(((input[0] * 3) + input[1] + 2) >> 2);
        for (int i = 1; i < n - 1; i++)
        {
            output[2 * i] = (byte)(((input[i] * 3) + input[i - 1] + 1) >> 2);
            output[(2 * i) + 1] = (byte)(((input[i] * 3) + input[i + 1] + 2) >> 2);
        }

        output[(2 * n) - 2] = (byte)(((input[n - 1] * 3) + input[n - 2] + 1) >> 2);
        output[(2 * n) - 1] = input[n - 1];
    }

    /// <summary>
    /// libjpeg ycc_rgb_convert on the recovered luma and the upsampled chroma. A pixel's luma comes from its unclipped
    /// channels and the chroma ImageSharp gave it (its block's sample); a pixel clipped in all three keeps its values.
    /// </summary>
    private static void ConvertRow(Span<byte> row, int width, int h, ReadOnlySpan<byte> blockCb, ReadOnlySpan<byte> blockCr, byte[] cb, byte[] cr)
    {
        for (int x = 0; x < width; x++)
        {
            byte r = row[3 * x], g = row[(3 * x) + 1], b = row[(3 * x) + 2];
            float bcb = blockCb[x / h] - 128f, bcr = blockCr[x / h] - 128f;
            float luma;
            if (!IsClipped(r) && !IsClipped(g) && !IsClipped(b))
            {
                luma = (0.299f * r) + (0.587f * g) + (0.114f * b);
            }
            else
            {
                float sum = 0;
                int n = 0;
                if (!IsClipped(r))
                {
                    sum += r - (RCr * bcr);
                    n++;
                }

                if (!IsClipped(g))
                {
                    sum += g - (GCb * bcb) - (GCr * bcr);
                    n++;
                }

                if (!IsClipped(b))
                {
                    sum += b - (BCb * bcb);
                    n++;
                }

                if (n == 0)
                {
                    continue;
                }

                luma = sum / n;
            }

            int y = Math.Clamp((int)MathF.Round(luma), 0, 255);
            int pb = cb[x], pr = cr[x];
            row[3 * x] = Limit(y + s_crToR[pr]);
            row[(3 * x) + 1] = Limit(y + ((s_cbToG[pb] + s_crToG[pr]) >> ScaleBits));
            row[(3 * x) + 2] = Limit(y + s_cbToB[pb]);
        }
    }

    private static byte Limit(int value) => (byte)Math.Clamp(value, 0, 255);
}
