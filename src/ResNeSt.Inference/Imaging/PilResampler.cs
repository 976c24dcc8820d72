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
/// PIL's antialiased resize (libImaging/Resample.c) reproduced bit for bit on 8-bit RGB, fused with torchvision's
/// crop, ToTensor and Normalize. ImageSharp's own resamplers use the same kernels and sample positions but compute in
/// floats; PIL quantises the filter weights to 22-bit fixed point and rounds and clips the horizontal pass to 8 bits
/// before the vertical pass, and those roundings are what must be reproduced to get the same tensor (±1/255 bilinear,
/// up to 7/255 bicubic otherwise). Only the output pixels inside the crop window are computed, which is exact because
/// every output pixel of PIL's resize depends only on its own coefficients.
/// </summary>
internal static unsafe class PilResampler
{
    /// <summary>PIL's PRECISION_BITS: 32 − 8 − 2, two spare bits for the filters' negative lobes and overshoot.</summary>
    internal const int PrecisionBits = 32 - 8 - 2;

    private const int Half = 1 << (PrecisionBits - 1);

    /// <summary>
    /// Resamples <paramref name="plan"/>'s region of <paramref name="image"/> and writes the S×S window as normalised
    /// float planes R, G, B into <paramref name="destination"/> (length 3·S·S).
    /// </summary>
    public static void Resample(
        Image<Rgb24> image, in ResamplePlan plan, Span<float> destination, ReadOnlySpan<float> mean, ReadOnlySpan<float> std) =>
        Resample(image, plan, destination, mean, std, allowSimd: true);

    /// <summary>As above; <paramref name="allowSimd"/> = false runs the scalar code so tests can compare the two.</summary>
    internal static void Resample(
        Image<Rgb24> image, in ResamplePlan plan, Span<float> destination, ReadOnlySpan<float> mean, ReadOnlySpan<float> std, bool allowSimd)
    {
        bool simd = allowSimd && Avx2.IsSupported;
        int s = plan.CropSize;
        int plane = s * s;
        if (destination.Length != 3 * plane)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats; 3×{s}×{s} = {3 * plane} are needed.", nameof(destination));
        }

        if (plan.SourceX < 0 || plan.SourceY < 0 || plan.SourceWidth < 1 || plan.SourceHeight < 1
            || plan.SourceX + plan.SourceWidth > image.Width || plan.SourceY + plan.SourceHeight > image.Height)
        {
            throw new ArgumentException("The resample region lies outside the image.", nameof(plan));
        }

        // ToTensor divides by 255 and Normalize subtracts and divides, all in float32; a table of the 256 results per
        // channel reproduces those three roundings exactly.
        Span<float> lut = stackalloc float[3 * 256];
        for (int c = 0; c < 3; c++)
        {
            for (int v = 0; v < 256; v++)
            {
                lut[(c * 256) + v] = Normalize(v, mean[c], std[c]);
            }
        }

        // The window of the resized image that is inside it; the rest of the S×S window is torchvision's zero padding.
        int colStart = Math.Max(plan.CropLeft, 0);
        int colEnd = Math.Min(plan.CropLeft + s, plan.ResizedWidth);
        int rowStart = Math.Max(plan.CropTop, 0);
        int rowEnd = Math.Min(plan.CropTop + s, plan.ResizedHeight);
        int cols = colEnd - colStart;
        int rows = rowEnd - rowStart;
        if (cols < s || rows < s)
        {
            for (int c = 0; c < 3; c++)
            {
                destination.Slice(c * plane, plane).Fill(lut[c * 256]);
            }
        }

        if (cols <= 0 || rows <= 0)
        {
            return;
        }

        var horizontal = Coefficients.Compute(plan.SourceWidth, plan.BoxX0, plan.BoxX1, plan.ResizedWidth, colStart, cols, plan.Kernel);
        var vertical = Coefficients.Compute(plan.SourceHeight, plan.BoxY0, plan.BoxY1, plan.ResizedHeight, rowStart, rows, plan.Kernel);
        byte[]? temp = null;
        byte[]? rgbx = null;
        int[]? pairedWeights = null;
        try
        {
            // Source rows the vertical pass reads: the horizontal pass runs on these only (PIL's ybox_first/last).
            int firstRow = vertical.Bounds[0];
            int lastRow = vertical.Bounds[(2 * rows) - 2] + vertical.Bounds[(2 * rows) - 1];
            int tempRows = lastRow - firstRow;
            int tempPlane = tempRows * cols;
            temp = ArrayPool<byte>.Shared.Rent(3 * tempPlane);
            int pairs = (horizontal.KernelSize + 1) / 2;
            if (simd)
            {
                // One source row widened to 4 bytes a pixel, with a zero pixel pair of slack for the last tap pair.
                rgbx = ArrayPool<byte>.Shared.Rent((4 * plan.SourceWidth) + 16);
                pairedWeights = ArrayPool<int>.Shared.Rent(cols * pairs * 8);
                PairWeights(horizontal, cols, pairs, pairedWeights);
            }

            fixed (byte* tempPtr = temp, rgbxPtr = rgbx)
            fixed (int* hBounds = horizontal.Bounds, hWeights = horizontal.Weights, paired = pairedWeights)
            fixed (int* vBounds = vertical.Bounds, vWeights = vertical.Weights)
            fixed (float* dst = destination)
            fixed (float* lutPtr = lut)
            {
                for (int r = 0; r < tempRows; r++)
                {
                    var row = MemoryMarshal.AsBytes(image.DangerousGetPixelRowMemory(plan.SourceY + firstRow + r).Span)
                        .Slice(plan.SourceX * 3, plan.SourceWidth * 3);
                    fixed (byte* src = row)
                    {
                        if (simd)
                        {
                            WidenToRgbx(src, plan.SourceWidth, rgbxPtr);
                            HorizontalRowAvx2(rgbxPtr, tempPtr + (r * cols), tempPlane, cols, hBounds, paired, pairs);
                        }
                        else
                        {
                            HorizontalRow(src, tempPtr + (r * cols), tempPlane, cols, hBounds, hWeights, horizontal.KernelSize);
                        }
                    }
                }

                int outCol = colStart - plan.CropLeft;
                for (int i = 0; i < rows; i++)
                {
                    int yFirst = vBounds[2 * i] - firstRow;
                    int taps = vBounds[(2 * i) + 1];
                    int* k = vWeights + (i * vertical.KernelSize);
                    int outRow = rowStart - plan.CropTop + i;
                    for (int c = 0; c < 3; c++)
                    {
                        VerticalRow(
                            tempPtr + (c * tempPlane) + (yFirst * cols), cols, taps, k,
                            dst + (c * plane) + (outRow * s) + outCol,
                            lutPtr + (c * 256), mean[c], std[c], simd);
                    }
                }
            }
        }
        finally
        {
            if (temp is not null)
            {
                ArrayPool<byte>.Shared.Return(temp);
            }

            if (rgbx is not null)
            {
                ArrayPool<byte>.Shared.Return(rgbx);
            }

            if (pairedWeights is not null)
            {
                ArrayPool<int>.Shared.Return(pairedWeights);
            }

            horizontal.Return();
            vertical.Return();
        }
    }

    /// <summary>The rectangle of image pixels <see cref="Resample(Image{Rgb24}, in ResamplePlan, Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float})"/> reads for <paramref name="plan"/>.</summary>
    public static Rectangle SourceRegion(in ResamplePlan plan)
    {
        int colStart = Math.Max(plan.CropLeft, 0);
        int colEnd = Math.Min(plan.CropLeft + plan.CropSize, plan.ResizedWidth);
        int rowStart = Math.Max(plan.CropTop, 0);
        int rowEnd = Math.Min(plan.CropTop + plan.CropSize, plan.ResizedHeight);
        if (colEnd <= colStart || rowEnd <= rowStart)
        {
            return Rectangle.Empty;
        }

        var (left, _) = Coefficients.Taps(plan.SourceWidth, plan.BoxX0, plan.BoxX1, plan.ResizedWidth, colStart, plan.Kernel);
        var (lastLeft, lastCount) = Coefficients.Taps(plan.SourceWidth, plan.BoxX0, plan.BoxX1, plan.ResizedWidth, colEnd - 1, plan.Kernel);
        var (top, _) = Coefficients.Taps(plan.SourceHeight, plan.BoxY0, plan.BoxY1, plan.ResizedHeight, rowStart, plan.Kernel);
        var (lastTop, lastRows) = Coefficients.Taps(plan.SourceHeight, plan.BoxY0, plan.BoxY1, plan.ResizedHeight, rowEnd - 1, plan.Kernel);
        return new Rectangle(plan.SourceX + left, plan.SourceY + top, lastLeft + lastCount - left, lastTop + lastRows - top);
    }

    /// <summary>torchvision's ToTensor + Normalize of one 8-bit value, in float32 as torch computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Normalize(int value, float mean, float std) => ((value / 255f) - mean) / std;

    /// <summary>PIL's clip8: drop the fraction bits (arithmetic shift, i.e. floor) and clamp to 0–255.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte Clip8(int accumulator)
    {
        int v = accumulator >> PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /// <summary>One source row, interleaved RGB, into one row of each of the three 8-bit planes.</summary>
    private static void HorizontalRow(byte* src, byte* dst, int planeStride, int cols, int* bounds, int* weights, int kernelSize)
    {
        for (int j = 0; j < cols; j++)
        {
            int taps = bounds[(2 * j) + 1];
            byte* p = src + (bounds[2 * j] * 3);
            int* k = weights + (j * kernelSize);
            int s0 = Half, s1 = Half, s2 = Half;
            for (int t = 0; t < taps; t++)
            {
                int w = k[t];
                s0 += p[0] * w;
                s1 += p[1] * w;
                s2 += p[2] * w;
                p += 3;
            }

            dst[j] = Clip8(s0);
            dst[planeStride + j] = Clip8(s1);
            dst[(2 * planeStride) + j] = Clip8(s2);
        }
    }

    /// <summary>
    /// Lays out each output column's weights as 8-lane pairs (w0 ×4, w1 ×4), so two neighbouring RGBx source pixels
    /// are filtered by one 8-lane multiply. A tap beyond the column's count gets weight 0.
    /// </summary>
    private static void PairWeights(in Coefficients horizontal, int cols, int pairs, int[] paired)
    {
        for (int j = 0; j < cols; j++)
        {
            int taps = horizontal.Bounds[(2 * j) + 1];
            var k = horizontal.Weights.AsSpan(j * horizontal.KernelSize, horizontal.KernelSize);
            var dst = paired.AsSpan(j * pairs * 8, pairs * 8);
            for (int p = 0; p < pairs; p++)
            {
                int w0 = 2 * p < taps ? k[2 * p] : 0;
                int w1 = (2 * p) + 1 < taps ? k[(2 * p) + 1] : 0;
                dst.Slice(p * 8, 4).Fill(w0);
                dst.Slice((p * 8) + 4, 4).Fill(w1);
            }
        }
    }

    /// <summary>Rgb24 → RGBx (x = 0), plus two zero pixels after the end.</summary>
    private static void WidenToRgbx(byte* src, int width, byte* dst)
    {
        int x = 0;
        if (Ssse3.IsSupported)
        {
            // 16 source bytes hold 5⅓ pixels; take 4 per step and never read past the row's last byte.
            var shuffle = Vector128.Create((byte)0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80);
            for (; (3 * x) + 16 <= 3 * width; x += 4)
            {
                Sse2.Store(dst + (4 * x), Ssse3.Shuffle(Sse2.LoadVector128(src + (3 * x)), shuffle));
            }
        }

        for (; x < width; x++)
        {
            dst[4 * x] = src[3 * x];
            dst[(4 * x) + 1] = src[(3 * x) + 1];
            dst[(4 * x) + 2] = src[(3 * x) + 2];
            dst[(4 * x) + 3] = 0;
        }

        *(ulong*)(dst + (4 * width)) = 0;
    }

    /// <summary>The horizontal pass on RGBx pixels, two taps per 8-lane step, exact 32-bit fixed point as PIL.</summary>
    private static void HorizontalRowAvx2(byte* rgbx, byte* dst, int planeStride, int cols, int* bounds, int* paired, int pairs)
    {
        var half = Vector128.Create(Half);
        var zero = Vector128<int>.Zero;
        var max = Vector128.Create(255);
        for (int j = 0; j < cols; j++)
        {
            int steps = (bounds[(2 * j) + 1] + 1) >> 1;
            byte* p = rgbx + (bounds[2 * j] * 4);
            int* w = paired + (j * pairs * 8);
            var acc = Vector256<int>.Zero;
            for (int t = 0; t < steps; t++)
            {
                acc = Avx2.Add(acc, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p), Avx.LoadVector256(w)));
                p += 8;
                w += 8;
            }

            var sum = Sse2.Add(Sse2.Add(acc.GetLower(), acc.GetUpper()), half);
            var v = Sse41.Min(Sse41.Max(Sse2.ShiftRightArithmetic(sum, PrecisionBits), zero), max);
            dst[j] = (byte)v.GetElement(0);
            dst[planeStride + j] = (byte)v.GetElement(1);
            dst[(2 * planeStride) + j] = (byte)v.GetElement(2);
        }
    }

    /// <summary>One output row of one channel: the vertical filter over the 8-bit plane, clipped, then normalised.</summary>
    private static void VerticalRow(byte* src, int cols, int taps, int* k, float* dst, float* lut, float mean, float std, bool simd)
    {
        int j = 0;
        if (simd && cols >= 8)
        {
            var half = Vector256.Create(Half);
            var zero = Vector256<int>.Zero;
            var max = Vector256.Create(255);
            var scale = Vector256.Create(255f);
            var meanV = Vector256.Create(mean);
            var stdV = Vector256.Create(std);
            for (; j <= cols - 8; j += 8)
            {
                var acc = half;
                byte* p = src + j;
                for (int t = 0; t < taps; t++)
                {
                    acc = Avx2.Add(acc, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(p), Vector256.Create(k[t])));
                    p += cols;
                }

                var v = Avx2.Min(Avx2.Max(Avx2.ShiftRightArithmetic(acc, PrecisionBits), zero), max);
                // The same three float32 operations as the table, lane by lane, so the result is identical.
                var f = Avx.Divide(Avx.Subtract(Avx.Divide(Avx.ConvertToVector256Single(v), scale), meanV), stdV);
                Avx.Store(dst + j, f);
            }
        }

        for (; j < cols; j++)
        {
            int acc = Half;
            byte* p = src + j;
            for (int t = 0; t < taps; t++)
            {
                acc += *p * k[t];
                p += cols;
            }

            dst[j] = lut[Clip8(acc)];
        }
    }

    /// <summary>PIL's precompute_coeffs + normalize_coeffs_8bpc for a contiguous range of output positions.</summary>
    internal readonly struct Coefficients
    {
        private Coefficients(int[] bounds, int[] weights, int kernelSize)
        {
            Bounds = bounds;
            Weights = weights;
            KernelSize = kernelSize;
        }

        /// <summary>Per output position: first source index, then tap count.</summary>
        public int[] Bounds { get; }

        /// <summary>Per output position: <see cref="KernelSize"/> fixed-point weights.</summary>
        public int[] Weights { get; }

        public int KernelSize { get; }

        /// <summary>
        /// Coefficients for output positions <paramref name="outStart"/>.. of a resize of <paramref name="inSize"/>
        /// samples (box 0..<paramref name="in1"/>, a float as in PIL) to <paramref name="outSize"/>.
        /// </summary>
        /// <summary>PIL's precompute_coeffs for the source box [<paramref name="in0"/>, <paramref name="in1"/>) of <paramref name="inSize"/> pixels.</summary>
        public static Coefficients Compute(int inSize, float in0, float in1, int outSize, int outStart, int outCount, ResampleKernel kernel)
        {
            double filterSupport = kernel == ResampleKernel.Bilinear ? 1.0 : 2.0;
            double scale = (double)(in1 - in0) / outSize;
            double filterScale = scale < 1.0 ? 1.0 : scale;
            double support = filterSupport * filterScale;
            int kernelSize = ((int)Math.Ceiling(support) * 2) + 1;

            int[] bounds = ArrayPool<int>.Shared.Rent(2 * outCount);
            int[] weights = ArrayPool<int>.Shared.Rent(outCount * kernelSize);
            double[]? rented = null;
            var k = kernelSize <= 512
                ? stackalloc double[kernelSize]
                : (rented = ArrayPool<double>.Shared.Rent(kernelSize)).AsSpan(0, kernelSize);
            try
            {
                double ss = 1.0 / filterScale;
                for (int i = 0; i < outCount; i++)
                {
                    int xx = outStart + i;
                    double center = in0 + ((xx + 0.5) * scale);
                    // C casts truncate toward zero; so do C# casts.
                    int xmin = (int)(center - support + 0.5);
                    if (xmin < 0)
                    {
                        xmin = 0;
                    }

                    int xmax = (int)(center + support + 0.5);
                    if (xmax > inSize)
                    {
                        xmax = inSize;
                    }

                    xmax -= xmin;
                    double ww = 0.0;
                    for (int x = 0; x < xmax; x++)
                    {
                        double w = Filter(kernel, ((x + xmin) - center + 0.5) * ss);
                        k[x] = w;
                        ww += w;
                    }

                    var fixedPoint = weights.AsSpan(i * kernelSize, kernelSize);
                    for (int x = 0; x < xmax; x++)
                    {
                        double w = ww != 0.0 ? k[x] / ww : k[x];
                        fixedPoint[x] = w < 0
                            ? (int)(-0.5 + (w * (1 << PrecisionBits)))
                            : (int)(0.5 + (w * (1 << PrecisionBits)));
                    }

                    fixedPoint[xmax..].Clear();
                    bounds[2 * i] = xmin;
                    bounds[(2 * i) + 1] = xmax;
                }
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<double>.Shared.Return(rented);
                }
            }

            return new Coefficients(bounds, weights, kernelSize);
        }

        public void Return()
        {
            if (Bounds is not null)
            {
                ArrayPool<int>.Shared.Return(Bounds);
                ArrayPool<int>.Shared.Return(Weights);
            }
        }

        /// <summary>The first source index and the tap count of output position <paramref name="xx"/> (PIL's xmin, xmax).</summary>
        public static (int Min, int Count) Taps(int inSize, float in0, float in1, int outSize, int xx, ResampleKernel kernel)
        {
            var (scale, support, _) = Geometry(in1 - in0, outSize, kernel);
            double center = in0 + ((xx + 0.5) * scale);
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize);
            return (xmin, xmax - xmin);
        }

        private static (double Scale, double Support, double FilterScale) Geometry(float in1, int outSize, ResampleKernel kernel)
        {
            double scale = (double)in1 / outSize;
            double filterScale = scale < 1.0 ? 1.0 : scale;
            return (scale, (kernel == ResampleKernel.Bilinear ? 1.0 : 2.0) * filterScale, filterScale);
        }

        private static double Filter(ResampleKernel kernel, double x)
        {
            if (x < 0.0)
            {
                x = -x;
            }

            if (kernel == ResampleKernel.Bilinear)
            {
                return x < 1.0 ? 1.0 - x : 0.0;
            }

            // Keys cubic, a = −0.5, written in PIL's operation order so the doubles round identically.
            const double a = -0.5;
            if (x < 1.0)
            {
                return ((((a + 2.0) * x) - (a + 3.0)) * x * x) + 1;
            }

            if (x < 2.0)
            {
                return ((((((x - 5) * x) + 8) * x) - 4) * a);
            }

            return 0.0;
        }
    }
}
