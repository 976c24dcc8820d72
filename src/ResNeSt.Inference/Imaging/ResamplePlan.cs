using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Imaging;

/// <summary>PIL's two antialiased filters the recipes use.</summary>
internal enum ResampleKernel
{
    /// <summary>Triangle, support 1 (PIL BILINEAR).</summary>
    Bilinear,
    /// <summary>Keys cubic with a = −0.5, support 2 (PIL BICUBIC).</summary>
    Bicubic,
}

/// <summary>
/// One recipe reduced to a single PIL resize followed by a window: the region of the decoded image that PIL sees as
/// the image to resize (the whole image for <c>hub</c>, the integer crop for <c>paper</c>), the size PIL resizes it
/// to, and the S×S window of that result that becomes the tensor. A window reaching outside the resized image reads
/// zeros, as torchvision's CenterCrop pads.
/// </summary>
internal readonly record struct ResamplePlan(
    int SourceX,
    int SourceY,
    int SourceWidth,
    int SourceHeight,
    int ResizedWidth,
    int ResizedHeight,
    int CropLeft,
    int CropTop,
    int CropSize,
    ResampleKernel Kernel)
{
    public static ResamplePlan For(int width, int height, PreprocessingSpec spec) => spec.Recipe switch
    {
        PreprocessingRecipe.Hub => Hub(width, height, spec.ResizeSize, spec.CropSize),
        PreprocessingRecipe.Paper => Paper(width, height, spec.CropSize),
        _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Recipe, "Unknown recipe."),
    };

    /// <summary>torchvision <c>Resize(R)</c> then <c>CenterCrop(S)</c> on a PIL image.</summary>
    public static ResamplePlan Hub(int width, int height, int resize, int crop)
    {
        // torchvision: the shorter side becomes R, the longer int(R * long / short) (Python true division, truncated).
        bool portrait = width <= height;
        long shortSide = portrait ? width : height;
        long longSide = portrait ? height : width;
        int newLong = (int)((double)(resize * longSide) / shortSide);
        int newWidth = portrait ? resize : newLong;
        int newHeight = portrait ? newLong : resize;
        return new ResamplePlan(
            0, 0, width, height, newWidth, newHeight,
            CenterCropOffset(newWidth, crop), CenterCropOffset(newHeight, crop), crop, ResampleKernel.Bilinear);
    }

    /// <summary>
    /// The official evaluation: a centred square of side S/(S+32)·short from the original image, cropped by PIL with
    /// a float box (each coordinate rounded half to even), then a BICUBIC resize of that crop to S×S.
    /// </summary>
    public static ResamplePlan Paper(int width, int height, int crop)
    {
        double side = (double)crop / (crop + 32) * Math.Min(width, height);
        int top = RoundHalfEven((height - side) / 2.0);
        int left = RoundHalfEven((width - side) / 2.0);
        // Below S = 32 a tiny image's box can round to nothing, where PIL would fail; keep at least one pixel.
        int right = Math.Max(RoundHalfEven(left + side), left + 1);
        int bottom = Math.Max(RoundHalfEven(top + side), top + 1);
        return new ResamplePlan(left, top, right - left, bottom - top, crop, crop, 0, 0, crop, ResampleKernel.Bicubic);
    }

    /// <summary>
    /// torchvision's CenterCrop offset: <c>int(round((size − S) / 2))</c>; when S exceeds the size it pads
    /// <c>(S − size) // 2</c> on the leading side first, which puts the window at minus that padding.
    /// </summary>
    internal static int CenterCropOffset(int size, int crop) =>
        crop > size ? -((crop - size) / 2) : RoundHalfEven((size - crop) / 2.0);

    /// <summary>Python 3's <c>round</c>.</summary>
    private static int RoundHalfEven(double value) => (int)Math.Round(value, MidpointRounding.ToEven);
}
