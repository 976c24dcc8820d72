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
    ResampleKernel Kernel,
    float BoxLeft = 0f,
    float BoxTop = 0f,
    float BoxWidth = 0f,
    float BoxHeight = 0f)
{
    // The box PIL's resize reads, relative to (SourceX, SourceY): the whole region unless a fractional box is given.
    public float BoxX0 => BoxLeft;

    public float BoxX1 => BoxWidth > 0 ? BoxLeft + BoxWidth : SourceWidth;

    public float BoxY0 => BoxTop;

    public float BoxY1 => BoxHeight > 0 ? BoxTop + BoxHeight : SourceHeight;

    /// <summary>
    /// The plan of an image of <paramref name="width"/>×<paramref name="height"/> carried over to its
    /// 1/<paramref name="scale"/> decode of <paramref name="scaledWidth"/>×<paramref name="scaledHeight"/>: the same
    /// output size, crop window and kernel, reading the same part of the picture (scaled pixel i covers full-size
    /// pixels scale·i to scale·i + scale − 1). libjpeg rounds a reduced side up, so a side that is not a multiple of the
    /// scale leaves a fraction of a pixel past the picture; PIL's draft resizes that fraction too, which stretches the
    /// picture and shifts the crop (up to 112/255 off on a 16:9 photo). The box keeps the full-size geometry instead.
    /// When the sides are multiples of the scale, this is exactly the plan of the reduced image, i.e. PIL's draft.
    /// <paramref name="offsetX"/>/<paramref name="offsetY"/> (in reduced pixels) move the picture's origin where a flip
    /// of the EXIF orientation has put the partial pixel first.
    /// </summary>
    public static ResamplePlan ForScaled(
        int width, int height, int scale, int scaledWidth, int scaledHeight, PreprocessingSpec spec, float offsetX = 0f, float offsetY = 0f)
    {
        var full = For(width, height, spec);
        float x0 = ((float)full.SourceX / scale) + offsetX;
        float y0 = ((float)full.SourceY / scale) + offsetY;
        float w = (float)full.SourceWidth / scale;
        float h = (float)full.SourceHeight / scale;
        int left = (int)Math.Floor(x0);
        int top = (int)Math.Floor(y0);
        int right = Math.Min((int)Math.Ceiling(x0 + w), scaledWidth);
        int bottom = Math.Min((int)Math.Ceiling(y0 + h), scaledHeight);
        return full with
        {
            SourceX = left,
            SourceY = top,
            SourceWidth = right - left,
            SourceHeight = bottom - top,
            BoxLeft = x0 - left,
            BoxTop = y0 - top,
            BoxWidth = w,
            BoxHeight = h,
        };
    }

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
