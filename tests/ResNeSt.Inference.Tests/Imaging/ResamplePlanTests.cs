using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>Crop geometry and rounding of both recipes, the way torchvision and PIL compute them.</summary>
public sealed class ResamplePlanTests
{
    [Theory]
    // width, height → resized width/height, crop left/top. 341 − 224 = 117: round(58.5) is 58 in Python (half to even).
    [InlineData(500, 375, 341, 256, 58, 16)]
    [InlineData(375, 500, 256, 341, 16, 58)]
    [InlineData(1546, 1213, 326, 256, 51, 16)]
    // 2000 × 50: int(256 · 2000 / 50) = 10240; (10240 − 224) / 2 = 5008.
    [InlineData(2000, 50, 10240, 256, 5008, 16)]
    [InlineData(1, 1, 256, 256, 16, 16)]
    // int(256 · 333 / 251) = int(339.63…) = 339; round(57.5) = 58 (half to even).
    [InlineData(333, 251, 339, 256, 58, 16)]
    [InlineData(256, 256, 256, 256, 16, 16)]
    public void Hub_resizes_the_shorter_side_and_centre_crops(int w, int h, int rw, int rh, int left, int top)
    {
        var plan = ResamplePlan.Hub(w, h, 256, 224);
        Assert.Equal((0, 0, w, h), (plan.SourceX, plan.SourceY, plan.SourceWidth, plan.SourceHeight));
        Assert.Equal((rw, rh, left, top, 224), (plan.ResizedWidth, plan.ResizedHeight, plan.CropLeft, plan.CropTop, plan.CropSize));
        Assert.Equal(ResampleKernel.Bilinear, plan.Kernel);
    }

    [Theory]
    // side = 224/256 · short. 500 × 375: side 328.125, top round(23.4375) = 23, left round(85.9375) = 86,
    // right round(414.125) = 414, bottom round(351.125) = 351.
    [InlineData(500, 375, 86, 23, 328, 328)]
    // 1546 × 1213: side 1061.375, top round(75.8125) = 76, left round(242.3125) = 242, right round(1303.375) = 1303,
    // bottom round(1137.375) = 1137.
    [InlineData(1546, 1213, 242, 76, 1061, 1061)]
    // 1 × 1: side 0.875, offsets round(0.0625) = 0, far edge round(0.875) = 1.
    [InlineData(1, 1, 0, 0, 1, 1)]
    // 2000 × 50: side 43.75, top round(3.125) = 3, left round(978.125) = 978, right round(1021.75) = 1022, bottom round(46.75) = 47.
    [InlineData(2000, 50, 978, 3, 44, 44)]
    // 37 × 400: side 32.375, left round(2.3125) = 2, top round(183.8125) = 184, right round(34.375) = 34, bottom round(216.375) = 216.
    [InlineData(37, 400, 2, 184, 32, 32)]
    public void Paper_crops_a_centred_square_from_the_original(int w, int h, int x, int y, int cw, int ch)
    {
        var plan = ResamplePlan.Paper(w, h, 224);
        Assert.Equal((x, y, cw, ch), (plan.SourceX, plan.SourceY, plan.SourceWidth, plan.SourceHeight));
        Assert.Equal((224, 224, 0, 0), (plan.ResizedWidth, plan.ResizedHeight, plan.CropLeft, plan.CropTop));
        Assert.Equal(ResampleKernel.Bicubic, plan.Kernel);
    }

    [Fact]
    public void Paper_crop_can_be_one_pixel_wider_than_high_because_pil_rounds_each_box_edge()
    {
        // side = 224/256 · 403 = 352.625; left = round(123.6875) = 124 → right = round(476.625) = 477 (353 wide);
        // top = round(25.1875) = 25 → bottom = round(377.625) = 378 (353 high). With 401: side 350.875,
        // left round(224.5625)=225 → right round(575.875)=576 (351); top round(25.0625)=25 → bottom round(375.875)=376 (351).
        // Scan a range of sizes and compare with an independent computation of the same float box.
        for (int w = 1; w < 700; w += 7)
        {
            for (int h = 1; h < 700; h += 11)
            {
                var plan = ResamplePlan.Paper(w, h, 224);
                double side = 224.0 / 256 * Math.Min(w, h);
                int left = (int)Math.Round((w - side) / 2, MidpointRounding.ToEven);
                int top = (int)Math.Round((h - side) / 2, MidpointRounding.ToEven);
                Assert.Equal(left, plan.SourceX);
                Assert.Equal(top, plan.SourceY);
                Assert.Equal((int)Math.Round(left + side, MidpointRounding.ToEven) - left, plan.SourceWidth);
                Assert.Equal((int)Math.Round(top + side, MidpointRounding.ToEven) - top, plan.SourceHeight);
                Assert.InRange(plan.SourceX + plan.SourceWidth, 1, w);
                Assert.InRange(plan.SourceY + plan.SourceHeight, 1, h);
            }
        }
    }

    [Theory]
    [InlineData(200, 224, -12)]
    [InlineData(201, 224, -11)]
    [InlineData(224, 224, 0)]
    [InlineData(225, 224, 0)]
    [InlineData(227, 224, 2)]
    public void Centre_crop_offset_rounds_half_to_even_and_pads_when_the_crop_is_larger(int size, int crop, int expected) =>
        Assert.Equal(expected, ResamplePlan.CenterCropOffset(size, crop));

    [Fact]
    public void Upscaling_a_single_pixel_gives_a_flat_tensor()
    {
        using var image = new Image<Rgb24>(1, 1, new Rgb24(200, 30, 90));
        var spec = new PreprocessingSpec(PreprocessingRecipe.Paper, 8, 9, ModelCard.ImageNetMean, ModelCard.ImageNetStd);
        var tensor = new float[spec.TensorLength];
        PilResampler.Resample(image, ResamplePlan.For(1, 1, spec), tensor, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
        Assert.All(tensor.AsSpan(0, 64).ToArray(), v => Assert.Equal(PilResampler.Normalize(200, 0.485f, 0.229f), v));
        Assert.All(tensor.AsSpan(128, 64).ToArray(), v => Assert.Equal(PilResampler.Normalize(90, 0.406f, 0.225f), v));
    }

    [Fact]
    public void Fixed_point_weights_of_every_output_sum_to_one_within_rounding()
    {
        foreach (var kernel in new[] { ResampleKernel.Bilinear, ResampleKernel.Bicubic })
        {
            foreach (var (inSize, outSize) in new[] { (1546, 326), (500, 224), (50, 256), (1, 224), (7, 3), (224, 224) })
            {
                var c = PilResampler.Coefficients.Compute(inSize, 0f, inSize, outSize, 0, outSize, kernel);
                try
                {
                    for (int i = 0; i < outSize; i++)
                    {
                        int start = c.Bounds[2 * i], taps = c.Bounds[(2 * i) + 1];
                        Assert.InRange(start, 0, inSize - 1);
                        Assert.InRange(start + taps, 1, inSize);
                        long sum = c.Weights.AsSpan(i * c.KernelSize, taps).ToArray().Sum(w => (long)w);
                        Assert.InRange(sum, (1 << PilResampler.PrecisionBits) - taps, (1 << PilResampler.PrecisionBits) + taps);
                    }
                }
                finally
                {
                    c.Return();
                }
            }
        }
    }
}

/// <summary>The vector code paths must compute exactly what the scalar (PIL-shaped) code computes.</summary>
public sealed class ResamplerSimdTests
{
    [Theory]
    [InlineData(500, 375, 224, 256)]
    [InlineData(1546, 1213, 224, 256)]
    [InlineData(37, 400, 99, 113)]
    [InlineData(2000, 50, 61, 70)]
    [InlineData(3, 2, 13, 14)]
    [InlineData(230, 229, 224, 256)]
    public void Vector_and_scalar_paths_agree(int width, int height, int crop, int resize)
    {
        var random = new Random(width * 31 + height);
        using var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                // Smooth gradients plus noise: overshoot of the bicubic lobes hits the 0 and 255 clamps too.
                image[x, y] = new Rgb24((byte)(x * 255 / width), (byte)random.Next(256), (byte)((x + y) % 2 == 0 ? 0 : 255));
            }
        }

        float[] mean = [0.485f, 0.456f, 0.406f];
        float[] std = [0.229f, 0.224f, 0.225f];
        foreach (var recipe in new[] { PreprocessingRecipe.Hub, PreprocessingRecipe.Paper })
        {
            var spec = new PreprocessingSpec(recipe, crop, resize, mean, std);
            var plan = ResamplePlan.For(width, height, spec);
            var vector = new float[spec.TensorLength];
            var scalar = new float[spec.TensorLength];
            PilResampler.Resample(image, plan, vector, mean, std, allowSimd: true);
            PilResampler.Resample(image, plan, scalar, mean, std, allowSimd: false);
            Assert.Equal(scalar, vector);
        }
    }
}
