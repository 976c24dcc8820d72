using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Advanced;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// Re-creates libjpeg-turbo's "fancy" (triangle-filtered) chroma upsampling on a 4:2:0 or 4:2:2 JPEG that ImageSharp
/// has decoded with replicated chroma. ImageSharp rounds Y, Cb and Cr to integers before its colour conversion and
/// rounds the RGB result, so the planes can be recovered from the pixels: the chroma of each subsampled block (its
/// pixels share one chroma sample; the channel differences G − R and B − R do not depend on Y, and their block sums
/// cancel the rounding), then each pixel's Y (its error is under half a level). The chroma is then upsampled and
/// converted with libjpeg's own integer arithmetic (jdsample.c, jdcolor.c). Pixels with a clipped channel give fewer
/// equations; a pixel clipped in all three keeps ImageSharp's values. This takes 4:2:0 JPEGs from about 0.25/255
/// mean difference to PIL down to the 4:4:4 level.
/// </summary>
internal static unsafe class JpegChromaUpsampling
{
    private const int ScaleBits = 16;
    private const int OneHalf = 1 << (ScaleBits - 1);

    // ImageSharp's YCbCr → RGB (JFIF) coefficients: channel = Y + a·(Cb − 128) + b·(Cr − 128).
    private const float RCr = 1.402f;
    private const float GCb = -0.344136f;
    private const float GCr = -0.714136f;
    private const float BCb = 1.772f;

    // The two Y-free equations an unclipped pixel gives: G − R = P1·Cb' + Q1·Cr', B − R = P2·Cb' + Q2·Cr'.
    private const float P1 = GCb;
    private const float Q1 = GCr - RCr;
    private const float P2 = BCb;
    private const float Q2 = -RCr;

    /// <summary>libjpeg's build_ycc_rgb_table, four tables of 256 side by side: Cr→R, Cb→B, Cr→G, Cb→G.</summary>
    private static readonly int[] s_tables = BuildTables();

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
        byte[] chroma = ArrayPool<byte>.Shared.Rent(2 * chromaWidth * chromaHeight);
        int[] scratch = ArrayPool<int>.Shared.Rent(2 * chromaWidth);
        byte[] upsampled = ArrayPool<byte>.Shared.Rent(2 * ((2 * chromaWidth) + 2));
        try
        {
            fixed (byte* cb = chroma, up = upsampled)
            fixed (int* colSums = scratch, tables = s_tables)
            {
                byte* cr = cb + (chromaWidth * chromaHeight);
                byte* upCb = up;
                byte* upCr = up + (2 * chromaWidth) + 2;

                // Fused, in place: converting a block row's pixels needs the chroma of the rows above and below, so
                // the next block row is recovered (from still-unconverted pixels) before this one is converted.
                RecoverBlockRow(image, 0, h, v, chromaWidth, cb, cr);
                for (int cy = 0; cy < chromaHeight; cy++)
                {
                    if (cy + 1 < chromaHeight)
                    {
                        RecoverBlockRow(image, cy + 1, h, v, chromaWidth, cb, cr);
                    }

                    for (int y = cy * v; y < Math.Min((cy + 1) * v, height); y++)
                    {
                        byte* nearCb = cb + (cy * chromaWidth);
                        byte* nearCr = cr + (cy * chromaWidth);
                        if (v == 2)
                        {
                            // The nearer chroma row weighs 3, the further one (above for even rows, below for odd)
                            // 1; libjpeg's context rows repeat the first and last rows at the edges.
                            int other = Math.Clamp((y & 1) == 0 ? cy - 1 : cy + 1, 0, chromaHeight - 1);
                            UpsampleH2V2(nearCb, cb + (other * chromaWidth), chromaWidth, upCb, colSums);
                            UpsampleH2V2(nearCr, cr + (other * chromaWidth), chromaWidth, upCr, colSums);
                        }
                        else
                        {
                            UpsampleH2V1(nearCb, chromaWidth, upCb);
                            UpsampleH2V1(nearCr, chromaWidth, upCr);
                        }

                        fixed (byte* row = MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y).Span))
                        {
                            ConvertRow(row, width, h, nearCb, nearCr, upCb, upCr, tables);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chroma);
            ArrayPool<int>.Shared.Return(scratch);
            ArrayPool<byte>.Shared.Return(upsampled);
        }
    }

    private static int[] BuildTables()
    {
        // FIX(x) = (int)(x · 2^16 + 0.5); x runs over sample − 128.
        static long Fix(double x) => (long)((x * (1L << ScaleBits)) + 0.5);
        var tables = new int[4 * 256];
        for (int i = 0; i < 256; i++)
        {
            long x = i - 128;
            tables[i] = (int)(((Fix(1.40200) * x) + OneHalf) >> ScaleBits);
            tables[256 + i] = (int)(((Fix(1.77200) * x) + OneHalf) >> ScaleBits);
            tables[512 + i] = (int)(-Fix(0.71414) * x);
            tables[768 + i] = (int)((-Fix(0.34414) * x) + OneHalf);
        }

        return tables;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsClipped(int value) => (uint)(value - 1) >= 254;

    /// <summary>
    /// Solves each chroma sample of one block row by least squares over its pixels' Y-free equations. Blocks without
    /// two independent equations (all clipped) fall back to the mean of the naive per-pixel inversion.
    /// </summary>
    private static void RecoverBlockRow(Image<Rgb24> image, int by, int h, int v, int chromaWidth, byte* cb, byte* cr)
    {
        int y0 = by * v;
        int rows = Math.Min(v, image.Height - y0);
        var first = MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y0).Span);
        var second = rows > 1 ? MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y0 + 1).Span) : first;
        fixed (byte* row0 = first, row1 = second)
        {
            RecoverBlockRow(row0, row1, rows, image.Width, by, h, chromaWidth, cb, cr);
        }
    }

    private static void RecoverBlockRow(byte* row0, byte* row1, int rows, int width, int by, int h, int chromaWidth, byte* cb, byte* cr)
    {
        for (int bx = 0; bx < chromaWidth; bx++)
        {
            int n = 0, sumGr = 0, sumBr = 0;
            float a11 = 0, a12 = 0, a22 = 0, b1 = 0, b2 = 0;
            int x0 = bx * h;
            int x1 = Math.Min(x0 + h, width);
            for (int dy = 0; dy < rows; dy++)
            {
                byte* p = (dy == 0 ? row0 : row1) + (3 * x0);
                for (int x = x0; x < x1; x++, p += 3)
                {
                    int r = p[0], g = p[1], b = p[2];
                    bool okR = !IsClipped(r), okG = !IsClipped(g), okB = !IsClipped(b);
                    if (okR && okG && okB)
                    {
                        n++;
                        sumGr += g - r;
                        sumBr += b - r;
                        continue;
                    }

                    // A partly clipped pixel: the one equation its two good channels give.
                    (float pc, float qc, float d) = okR && okG ? (P1, Q1, (float)(g - r))
                        : okR && okB ? (P2, Q2, (float)(b - r))
                        : okG && okB ? (BCb - GCb, -GCr, (float)(b - g))
                        : (0f, 0f, 0f);
                    a11 += pc * pc;
                    a12 += pc * qc;
                    a22 += qc * qc;
                    b1 += pc * d;
                    b2 += qc * d;
                }
            }

            a11 += n * ((P1 * P1) + (P2 * P2));
            a12 += n * ((P1 * Q1) + (P2 * Q2));
            a22 += n * ((Q1 * Q1) + (Q2 * Q2));
            b1 += (P1 * sumGr) + (P2 * sumBr);
            b2 += (Q1 * sumGr) + (Q2 * sumBr);
            float det = (a11 * a22) - (a12 * a12);
            float pb, pr;
            if (det > 1e-3f * (a11 + a22) * (a11 + a22))
            {
                pb = (((a22 * b1) - (a12 * b2)) / det) + 128f;
                pr = (((a11 * b2) - (a12 * b1)) / det) + 128f;
            }
            else
            {
                (pb, pr) = NaiveBlockChroma(row0, row1, rows, x0, x1);
            }

            cb[(by * chromaWidth) + bx] = ToSample(pb);
            cr[(by * chromaWidth) + bx] = ToSample(pr);
        }
    }

    /// <summary>The mean chroma a block's pixels imply when each is inverted on its own (for fully clipped blocks).</summary>
    private static (float Cb, float Cr) NaiveBlockChroma(byte* row0, byte* row1, int rows, int x0, int x1)
    {
        float sumCb = 0, sumCr = 0;
        int n = 0;
        for (int dy = 0; dy < rows; dy++)
        {
            byte* p = (dy == 0 ? row0 : row1) + (3 * x0);
            for (int x = x0; x < x1; x++, p += 3)
            {
                float luma = (0.299f * p[0]) + (0.587f * p[1]) + (0.114f * p[2]);
                sumCb += ((p[2] - luma) / BCb) + 128f;
                sumCr += ((p[0] - luma) / RCr) + 128f;
                n++;
            }
        }

        return (sumCb / n, sumCr / n);
    }

    private static byte ToSample(float value) => (byte)Math.Clamp((int)MathF.Round(value), 0, 255);

    /// <summary>libjpeg h2v2_fancy_upsample for one output row: vertical 3:1 column sums, then horizontal 3:1.</summary>
    private static void UpsampleH2V2(byte* near, byte* far, int n, byte* output, int* colSums)
    {
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
    private static void UpsampleH2V1(byte* input, int n, byte* output)
    {
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
    private static void ConvertRow(byte* row, int width, int h, byte* blockCb, byte* blockCr, byte* cb, byte* cr, int* tables)
    {
        int shift = h - 1;
        byte* p = row;
        for (int x = 0; x < width; x++, p += 3)
        {
            int r = p[0], g = p[1], b = p[2];
            int y;
            if (!IsClipped(r) && !IsClipped(g) && !IsClipped(b))
            {
                // 0.299, 0.587, 0.114 in 16-bit fixed point, rounded.
                y = ((19595 * r) + (38470 * g) + (7471 * b) + 32768) >> 16;
            }
            else if (!TryLumaOfClipped(r, g, b, blockCb[x >> shift] - 128f, blockCr[x >> shift] - 128f, out y))
            {
                continue;
            }

            int pb = cb[x], pr = cr[x];
            p[0] = Limit(y + tables[pr]);
            p[1] = Limit(y + ((tables[768 + pb] + tables[512 + pr]) >> ScaleBits));
            p[2] = Limit(y + tables[256 + pb]);
        }
    }

    /// <summary>A partly clipped pixel's luma: the mean of what each unclipped channel implies.</summary>
    private static bool TryLumaOfClipped(int r, int g, int b, float cbOffset, float crOffset, out int luma)
    {
        float sum = 0;
        int n = 0;
        if (!IsClipped(r))
        {
            sum += r - (RCr * crOffset);
            n++;
        }

        if (!IsClipped(g))
        {
            sum += g - (GCb * cbOffset) - (GCr * crOffset);
            n++;
        }

        if (!IsClipped(b))
        {
            sum += b - (BCb * cbOffset);
            n++;
        }

        luma = n == 0 ? 0 : Math.Clamp((int)MathF.Round(sum / n), 0, 255);
        return n > 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Limit(int value) => (byte)(value < 0 ? 0 : value > 255 ? 255 : value);
}
