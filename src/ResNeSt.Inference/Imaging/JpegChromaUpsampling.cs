using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    // libjpeg's FIX() of its colour conversion constants (jdcolor.c).
    private const int FixCrR = 91881;  // FIX(1.40200)
    private const int FixCbB = 116130; // FIX(1.77200)
    private const int FixCrG = 46802;  // FIX(0.71414)
    private const int FixCbG = 22554;  // FIX(0.34414)

    // Byte shuffles: one channel of four packed RGB pixels into int lanes, and four 0x00BBGGRR ints back to 12 bytes.
    private static readonly Vector128<byte> s_rMask = Vector128.Create((byte)0, 0x80, 0x80, 0x80, 3, 0x80, 0x80, 0x80, 6, 0x80, 0x80, 0x80, 9, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> s_gMask = Vector128.Create((byte)1, 0x80, 0x80, 0x80, 4, 0x80, 0x80, 0x80, 7, 0x80, 0x80, 0x80, 10, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> s_bMask = Vector128.Create((byte)2, 0x80, 0x80, 0x80, 5, 0x80, 0x80, 0x80, 8, 0x80, 0x80, 0x80, 11, 0x80, 0x80, 0x80);
    private static readonly Vector128<byte> s_packMask = Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0x80, 0x80, 0x80, 0x80);

    // The inverse of [[P1, Q1], [P2, Q2]]: Cb' = K1·(G − R) + K2·(B − R), Cr' = K3·(G − R) + K4·(B − R).
    private const float Det = (P1 * Q2) - (Q1 * P2);
    private const float K1 = Q2 / Det;
    private const float K2 = -Q1 / Det;
    private const float K3 = -P2 / Det;
    private const float K4 = P1 / Det;

    private static ReadOnlySpan<float> Reciprocals => [0f, 1f, 1f / 2, 1f / 3, 1f / 4];

    /// <summary>libjpeg's build_ycc_rgb_table, four tables of 256 side by side: Cr→R, Cb→B, Cr→G, Cb→G.</summary>
    private static readonly int[] s_tables = BuildTables();

    /// <summary>Redoes the chroma of the pixels in <paramref name="region"/> (the rest of the image is left as decoded).</summary>
    public static void Apply(Image<Rgb24> image, int h, int v, Rectangle region)
    {
        if (h is not (1 or 2) || v is not (1 or 2) || (h == 1 && v == 1))
        {
            throw new ArgumentOutOfRangeException(nameof(h), "Only 4:2:0 (2×2) and 4:2:2 (2×1) subsampling are handled.");
        }

        region = Rectangle.Intersect(region, image.Bounds());
        if (region.Width <= 0 || region.Height <= 0)
        {
            return;
        }

        int chromaWidth = (image.Width + h - 1) / h;
        int chromaHeight = (image.Height + v - 1) / v;

        // Blocks whose pixels are converted, and one more block on each side for the upsampling's neighbours.
        int bx0 = region.X / h, bx1 = (region.Right + h - 1) / h;
        int by0 = region.Y / v, by1 = (region.Bottom + v - 1) / v;
        int rbx0 = Math.Max(bx0 - 1, 0), rbx1 = Math.Min(bx1 + 1, chromaWidth);

        // Three chroma rows (above, this, below) are all the upsampling ever needs: a ring indexed by block row % 3.
        byte[] ring = ArrayPool<byte>.Shared.Rent(6 * chromaWidth);
        int[] scratch = ArrayPool<int>.Shared.Rent(chromaWidth);
        byte[] upsampled = ArrayPool<byte>.Shared.Rent(4 * chromaWidth);
        try
        {
            fixed (byte* rings = ring, up = upsampled)
            fixed (int* colSums = scratch, tables = s_tables)
            {
                byte* upCb = up;
                byte* upCr = up + (2 * chromaWidth);

                // Fused, in place: converting a block row's pixels needs the chroma of the rows above and below, so
                // the next block row is recovered (from still-unconverted pixels) before this one is converted.
                int recovered = Math.Max(by0 - 1, 0);
                RecoverBlockRow(image, recovered, h, v, rbx0, rbx1, Slot(rings, chromaWidth, recovered, 0), Slot(rings, chromaWidth, recovered, 1));
                for (int cy = by0; cy < by1; cy++)
                {
                    while (recovered < Math.Min(cy + 1, chromaHeight - 1))
                    {
                        recovered++;
                        RecoverBlockRow(image, recovered, h, v, rbx0, rbx1, Slot(rings, chromaWidth, recovered, 0), Slot(rings, chromaWidth, recovered, 1));
                    }

                    for (int y = Math.Max(cy * v, region.Y); y < Math.Min((cy + 1) * v, region.Bottom); y++)
                    {
                        if (v == 2)
                        {
                            // The nearer chroma row weighs 3, the further one (above for even rows, below for odd)
                            // 1; libjpeg's context rows repeat the first and last rows at the edges.
                            int other = Math.Clamp((y & 1) == 0 ? cy - 1 : cy + 1, 0, chromaHeight - 1);
                            UpsampleH2V2(Slot(rings, chromaWidth, cy, 0), Slot(rings, chromaWidth, other, 0), chromaWidth, bx0, bx1, upCb, colSums);
                            UpsampleH2V2(Slot(rings, chromaWidth, cy, 1), Slot(rings, chromaWidth, other, 1), chromaWidth, bx0, bx1, upCr, colSums);
                        }
                        else
                        {
                            UpsampleH2V1(Slot(rings, chromaWidth, cy, 0), chromaWidth, bx0, bx1, upCb);
                            UpsampleH2V1(Slot(rings, chromaWidth, cy, 1), chromaWidth, bx0, bx1, upCr);
                        }

                        fixed (byte* row = MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y).Span))
                        {
                            ConvertRow(row, region.X, region.Right, h, Slot(rings, chromaWidth, cy, 0), Slot(rings, chromaWidth, cy, 1), upCb, upCr, tables);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ring);
            ArrayPool<int>.Shared.Return(scratch);
            ArrayPool<byte>.Shared.Return(upsampled);
        }
    }

    /// <summary>Chroma row <paramref name="by"/> of one component in the three-row ring.</summary>
    private static byte* Slot(byte* ring, int chromaWidth, int by, int component) =>
        ring + (((by % 3 * 2) + component) * chromaWidth);

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
    private static void RecoverBlockRow(Image<Rgb24> image, int by, int h, int v, int bx0, int bx1, byte* cb, byte* cr)
    {
        int y0 = by * v;
        int rows = Math.Min(v, image.Height - y0);
        var first = MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y0).Span);
        var second = rows > 1 ? MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(y0 + 1).Span) : first;
        fixed (byte* row0 = first, row1 = second)
        {
            RecoverBlockRow(row0, row1, rows, image.Width, h, bx0, bx1, cb, cr);
        }
    }

    private static void RecoverBlockRow(byte* row0, byte* row1, int rows, int width, int h, int bx0, int bx1, byte* cb, byte* cr)
    {
        int bx = bx0;
        if (Avx2.IsSupported && h == 2 && rows == 2)
        {
            // Four full 2×2 blocks a step (a step reads 28 bytes of each row, hence the margin); a step with any
            // clipped pixel is left to the scalar loop.
            for (; bx + 4 <= bx1 && (2 * bx) + 10 <= width; bx += 4)
            {
                if (!RecoverFourBlocksAvx2(row0 + (6 * bx), row1 + (6 * bx), cb + bx, cr + bx))
                {
                    RecoverBlocksScalar(row0, row1, rows, width, h, bx, bx + 4, cb, cr);
                }
            }
        }

        RecoverBlocksScalar(row0, row1, rows, width, h, bx, bx1, cb, cr);
    }

    /// <summary>
    /// The unclipped case of the block solve for four 2×2 blocks: the same float operations as the scalar code, in
    /// lanes. Returns false, writing nothing, when any of the 16 pixels is clipped.
    /// </summary>
    private static bool RecoverFourBlocksAvx2(byte* top, byte* bottom, byte* cb, byte* cr)
    {
        if (!Differences(top, out var grTop, out var brTop) || !Differences(bottom, out var grBottom, out var brBottom))
        {
            return false;
        }

        // Pairwise sums of neighbouring columns: [gr b0, gr b1, br b0, br b1 | gr b2, gr b3, br b2, br b3].
        var sums = Avx2.HorizontalAdd(Avx2.Add(grTop, grBottom), Avx2.Add(brTop, brBottom));
        var ordered = Avx2.PermuteVar8x32(sums, Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7));
        var gr = Sse2.ConvertToVector128Single(ordered.GetLower());
        var br = Sse2.ConvertToVector128Single(ordered.GetUpper());
        var quarter = Vector128.Create(0.25f);
        var offset = Vector128.Create(128f);
        var pb = Sse.Add(Sse.Multiply(Sse.Add(Sse.Multiply(Vector128.Create(K1), gr), Sse.Multiply(Vector128.Create(K2), br)), quarter), offset);
        var pr = Sse.Add(Sse.Multiply(Sse.Add(Sse.Multiply(Vector128.Create(K3), gr), Sse.Multiply(Vector128.Create(K4), br)), quarter), offset);
        *(uint*)cb = PackSamples(pb);
        *(uint*)cr = PackSamples(pr);
        return true;
    }

    /// <summary>G − R and B − R of eight packed RGB pixels; false when any of them is clipped.</summary>
    private static bool Differences(byte* p, out Vector256<int> gr, out Vector256<int> br)
    {
        var lo = Sse2.LoadVector128(p);
        var hi = Sse2.LoadVector128(p + 12);
        var r = Vector256.Create(Ssse3.Shuffle(lo, s_rMask).AsInt32(), Ssse3.Shuffle(hi, s_rMask).AsInt32());
        var g = Vector256.Create(Ssse3.Shuffle(lo, s_gMask).AsInt32(), Ssse3.Shuffle(hi, s_gMask).AsInt32());
        var b = Vector256.Create(Ssse3.Shuffle(lo, s_bMask).AsInt32(), Ssse3.Shuffle(hi, s_bMask).AsInt32());
        gr = Avx2.Subtract(g, r);
        br = Avx2.Subtract(b, r);
        return AllUnclipped(r, g, b);
    }

    private static bool AllUnclipped(Vector256<int> r, Vector256<int> g, Vector256<int> b)
    {
        var zero = Vector256<int>.Zero;
        var max = Vector256.Create(255);
        var ok = Avx2.And(
            Avx2.And(Avx2.And(Avx2.CompareGreaterThan(r, zero), Avx2.CompareGreaterThan(max, r)),
                     Avx2.And(Avx2.CompareGreaterThan(g, zero), Avx2.CompareGreaterThan(max, g))),
            Avx2.And(Avx2.CompareGreaterThan(b, zero), Avx2.CompareGreaterThan(max, b)));
        return Avx2.MoveMask(ok.AsByte()) == -1;
    }

    /// <summary>Four floats rounded half to even (as MathF.Round), clamped to 0–255, as four bytes.</summary>
    private static uint PackSamples(Vector128<float> values)
    {
        var ints = Sse2.ConvertToVector128Int32WithTruncation(Sse41.RoundToNearestInteger(values));
        var clamped = Sse41.Min(Sse41.Max(ints, Vector128<int>.Zero), Vector128.Create(255));
        var words = Sse41.PackUnsignedSaturate(clamped, clamped);
        return Sse2.PackUnsignedSaturate(words.AsInt16(), words.AsInt16()).AsUInt32().ToScalar();
    }

    private static void RecoverBlocksScalar(byte* row0, byte* row1, int rows, int width, int h, int bx0, int bx1, byte* cb, byte* cr)
    {
        for (int bx = bx0; bx < bx1; bx++)
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

            if (a11 == 0 && a22 == 0 && n > 0)
            {
                // Only unclipped pixels: the block's two mean equations are square, solve them directly.
                float inv = Reciprocals[n];
                cb[bx] = ToSample((((K1 * sumGr) + (K2 * sumBr)) * inv) + 128f);
                cr[bx] = ToSample((((K3 * sumGr) + (K4 * sumBr)) * inv) + 128f);
                continue;
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

            cb[bx] = ToSample(pb);
            cr[bx] = ToSample(pr);
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

    /// <summary>
    /// libjpeg h2v2_fancy_upsample for the output pixels of blocks [b0, b1) of one row: vertical 3:1 column sums, then
    /// horizontal 3:1 (rounding biases 8 and 7); the first and last columns of the image repeat themselves.
    /// </summary>
    private static void UpsampleH2V2(byte* near, byte* far, int n, int b0, int b1, byte* output, int* colSums)
    {
        int from = Math.Max(b0 - 1, 0), to = Math.Min(b1 + 1, n);
        int i = from;
        if (Avx2.IsSupported)
        {
            for (; i + 8 <= to; i += 8)
            {
                var sum = Avx2.Add(
                    Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(near + i), Vector256.Create(3)),
                    Avx2.ConvertToVector256Int32(far + i));
                Avx.Store(colSums + i, sum);
            }
        }

        for (; i < to; i++)
        {
            colSums[i] = (near[i] * 3) + far[i];
        }

        // Interior blocks (both neighbours exist) eight at a time; the image's first and last columns below.
        i = b0;
        if (Sse41.IsSupported)
        {
            i = Math.Max(b0, 1);
            for (; i + 8 <= Math.Min(b1, n - 1); i += 8)
            {
                var here = Sse2.PackSignedSaturate(Sse2.LoadVector128(colSums + i), Sse2.LoadVector128(colSums + i + 4));
                var left = Sse2.PackSignedSaturate(Sse2.LoadVector128(colSums + i - 1), Sse2.LoadVector128(colSums + i + 3));
                var right = Sse2.PackSignedSaturate(Sse2.LoadVector128(colSums + i + 1), Sse2.LoadVector128(colSums + i + 5));
                var three = Sse2.MultiplyLow(here, Vector128.Create((short)3));
                var even = Sse2.ShiftRightLogical(Sse2.Add(Sse2.Add(three, left), Vector128.Create((short)8)), 4);
                var odd = Sse2.ShiftRightLogical(Sse2.Add(Sse2.Add(three, right), Vector128.Create((short)7)), 4);
                var bytes = Sse2.PackUnsignedSaturate(Sse2.UnpackLow(even, odd), Sse2.UnpackHigh(even, odd));
                Sse2.Store(output + (2 * i), bytes);
            }

            for (int e = b0; e < Math.Min(b1, Math.Max(b0, 1)); e++)
            {
                WriteH2V2(colSums, n, e, output);
            }
        }

        for (; i < b1; i++)
        {
            WriteH2V2(colSums, n, i, output);
        }
    }

    private static void WriteH2V2(int* colSums, int n, int i, byte* output)
    {
        int here = colSums[i] * 3;
        output[2 * i] = (byte)((here + (i == 0 ? colSums[0] : colSums[i - 1]) + 8) >> 4);
        output[(2 * i) + 1] = (byte)((here + (i == n - 1 ? colSums[i] : colSums[i + 1]) + 7) >> 4);
    }

    /// <summary>libjpeg h2v1_fancy_upsample for blocks [b0, b1) of one row: horizontal 3:1, rounding biases 1 and 2.</summary>
    private static void UpsampleH2V1(byte* input, int n, int b0, int b1, byte* output)
    {
        for (int i = b0; i < b1; i++)
        {
            int here = input[i] * 3;
            output[2 * i] = i == 0 ? input[0] : (byte)((here + input[i - 1] + 1) >> 2);
            output[(2 * i) + 1] = i == n - 1 ? input[i] : (byte)((here + input[i + 1] + 2) >> 2);
        }
    }

    /// <summary>
    /// libjpeg ycc_rgb_convert on the recovered luma and the upsampled chroma. A pixel's luma comes from its unclipped
    /// channels and the chroma ImageSharp gave it (its block's sample); a pixel clipped in all three keeps its values.
    /// </summary>
    private static void ConvertRow(byte* row, int x0, int x1, int h, byte* blockCb, byte* blockCr, byte* cb, byte* cr, int* tables)
    {
        int x = x0;
        if (Avx2.IsSupported)
        {
            // Eight pixels a step; a step reads 28 bytes, so stop while 10 pixels remain. A step with any clipped
            // pixel is left to the scalar loop below, which handles it pixel by pixel.
            for (; x + 10 <= x1; x += 8)
            {
                if (!ConvertEightAvx2(row + (3 * x), cb + x, cr + x))
                {
                    ConvertScalar(row, x, x + 8, h, blockCb, blockCr, cb, cr, tables);
                }
            }
        }

        ConvertScalar(row, x, x1, h, blockCb, blockCr, cb, cr, tables);
    }

    /// <summary>
    /// The unclipped case of <see cref="ConvertScalar"/> for eight pixels: the table lookups are the same fixed-point
    /// expressions evaluated in lanes. Returns false, writing nothing, when any of the eight is clipped.
    /// </summary>
    private static bool ConvertEightAvx2(byte* p, byte* cb, byte* cr)
    {
        var lo = Sse2.LoadVector128(p);
        var hi = Sse2.LoadVector128(p + 12);
        var r = Vector256.Create(Ssse3.Shuffle(lo, s_rMask).AsInt32(), Ssse3.Shuffle(hi, s_rMask).AsInt32());
        var g = Vector256.Create(Ssse3.Shuffle(lo, s_gMask).AsInt32(), Ssse3.Shuffle(hi, s_gMask).AsInt32());
        var b = Vector256.Create(Ssse3.Shuffle(lo, s_bMask).AsInt32(), Ssse3.Shuffle(hi, s_bMask).AsInt32());
        if (!AllUnclipped(r, g, b))
        {
            return false;
        }

        var zero = Vector256<int>.Zero;
        var max = Vector256.Create(255);
        var luma = Avx2.ShiftRightLogical(
            Avx2.Add(
                Avx2.Add(Avx2.MultiplyLow(r, Vector256.Create(19595)), Avx2.MultiplyLow(g, Vector256.Create(38470))),
                Avx2.Add(Avx2.MultiplyLow(b, Vector256.Create(7471)), Vector256.Create(32768))),
            16);
        var xb = Avx2.Subtract(Avx2.ConvertToVector256Int32(cb), Vector256.Create(128));
        var xr = Avx2.Subtract(Avx2.ConvertToVector256Int32(cr), Vector256.Create(128));
        var half = Vector256.Create(OneHalf);
        var outR = Avx2.Add(luma, Avx2.ShiftRightArithmetic(Avx2.Add(Avx2.MultiplyLow(xr, Vector256.Create(FixCrR)), half), ScaleBits));
        var outB = Avx2.Add(luma, Avx2.ShiftRightArithmetic(Avx2.Add(Avx2.MultiplyLow(xb, Vector256.Create(FixCbB)), half), ScaleBits));
        var outG = Avx2.Add(luma, Avx2.ShiftRightArithmetic(
            Avx2.Add(Avx2.Add(Avx2.MultiplyLow(xb, Vector256.Create(-FixCbG)), half), Avx2.MultiplyLow(xr, Vector256.Create(-FixCrG))),
            ScaleBits));
        outR = Avx2.Min(Avx2.Max(outR, zero), max);
        outG = Avx2.Min(Avx2.Max(outG, zero), max);
        outB = Avx2.Min(Avx2.Max(outB, zero), max);
        var packed = Avx2.Or(outR, Avx2.Or(Avx2.ShiftLeftLogical(outG, 8), Avx2.ShiftLeftLogical(outB, 16))).AsByte();
        var first = Ssse3.Shuffle(packed.GetLower(), s_packMask);
        var second = Ssse3.Shuffle(packed.GetUpper(), s_packMask);
        Sse2.Store(p, first);                          // 12 good bytes; the last 4 are rewritten next
        Sse2.StoreScalar((ulong*)(p + 12), second.AsUInt64());
        *(uint*)(p + 20) = second.AsUInt32().GetElement(2);
        return true;
    }

    private static void ConvertScalar(byte* row, int x0, int x1, int h, byte* blockCb, byte* blockCr, byte* cb, byte* cr, int* tables)
    {
        int shift = h - 1;
        byte* p = row + (3 * x0);
        for (int x = x0; x < x1; x++, p += 3)
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
