using System.Globalization;
using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

// Single-thread cost of preprocessing one image, against baselines measured in the same run (CPU ms per image):
//   decode        ImageSharp's decode to Rgb24 alone (the floor any pipeline pays)
//   ours          ImagePreprocessor.Preprocess (--decode exact): decode, validation, libjpeg chroma (4:2:0/4:2:2),
//                 PIL-exact resample, normalise into the tensor
//   fast          the same with DecodeMode.Fast: a JPEG at least twice the resize side decoded at 1/2, 1/4 or 1/8 size
//   scale         the reduction fast chose (1 = the exact path)
//   skia 1/1      SkiaSharp's (libjpeg-turbo's) full-size decode to RGBA alone: the candidate for an exact path
//   skia scaled   the reduced-size decode alone (ScaledJpegDecoder)
//   IS pipeline   decode + ImageSharp's own Resize (Triangle / Bicubic) + Crop + a normalise loop (not PIL-exact)
//   resample ours / IS   the same two resample-crop-normalise steps alone, on an already decoded image
// Usage: dotnet run -c Release --project bench/ResNeSt.Preprocessing.Bench -- [seconds-per-measurement] FILE...
double seconds = 2;
var files = new List<string>();
foreach (var arg in args)
{
    if (double.TryParse(arg, NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
    {
        seconds = s;
    }
    else
    {
        files.Add(arg);
    }
}

if (files.Count == 0)
{
    Console.Error.WriteLine("usage: [seconds] FILE...");
    return 2;
}

var preprocessor = new ImagePreprocessor(ImageLimits.Default);
var fastPreprocessor = new ImagePreprocessor(ImageLimits.Default, decode: DecodeMode.Fast);
var configuration = Configuration.Default.Clone();
configuration.MaxDegreeOfParallelism = 1;

Console.WriteLine(
    $"{"file",-32} {"size",-10} {"recipe",-6} {"decode",7} {"ours",7} {"fast",7} {"scale",5} {"skia 1/1",9} {"skia scaled",11} {"IS pipeline",12} {"resample ours",14} {"resample IS",12} {"IS/ours",8} {"chroma",7}");
foreach (var file in files)
{
    var bytes = File.ReadAllBytes(file);
    var info = ImagePreprocessor.Identify(bytes, ImageLimits.Default);
    using var decoded = Image.Load<Rgb24>(configuration, bytes);
    foreach (var recipe in new[] { PreprocessingRecipe.Hub, PreprocessingRecipe.Paper })
    {
        var spec = new PreprocessingSpec(recipe, 224, 256, ModelCard.ImageNetMean, ModelCard.ImageNetStd);
        var tensor = new float[spec.TensorLength];
        float[] mean = [.. spec.Mean];
        float[] std = [.. spec.Std];
        var plan = ResamplePlan.For(decoded.Width, decoded.Height, spec);
        double decode = Measure(seconds, () =>
        {
            using var image = Image.Load<Rgb24>(configuration, bytes);
        });
        double ours = Measure(seconds, () => preprocessor.Preprocess(bytes, tensor, spec));
        double fast = Measure(seconds, () => fastPreprocessor.Preprocess(bytes, tensor, spec));
        int scale = info.Format == "jpeg" ? ScaledJpegDecoder.ScaleFor(info.Width, info.Height, spec) : 1;
        double skiaFull = info.Format == "jpeg" ? Measure(seconds, () => SkiaFullDecode(bytes)) : double.NaN;
        double skiaScaled = scale > 1
            ? Measure(seconds, () => ScaledJpegDecoder.Decode(bytes, info.Width, info.Height, scale, configuration, CancellationToken.None)?.Dispose())
            : double.NaN;
        double imageSharp = Measure(seconds, () =>
        {
            using var image = Image.Load<Rgb24>(configuration, bytes);
            ImageSharpResample(image, spec, tensor);
        });
        double resampleOurs = Measure(seconds, () => PilResampler.Resample(decoded, plan, tensor, mean, std));
        double resampleImageSharp = Measure(seconds, () => ImageSharpResample(decoded, spec, tensor));
        // The libjpeg chroma reconstruction alone (whole image), what a 4:2:0 JPEG adds.
        using var copy = decoded.Clone();
        double chroma = Measure(seconds, () => JpegChromaUpsampling.Apply(copy, 2, 2, copy.Bounds()));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Path.GetFileName(file),-32} {info.Width + "x" + info.Height,-10} {recipe.ToString().ToLowerInvariant(),-6} {decode,7:F2} {ours,7:F2} {fast,7:F2} {scale,5} {skiaFull,9:F2} {skiaScaled,11:F2} {imageSharp,12:F2} {resampleOurs,14:F3} {resampleImageSharp,12:F3} {resampleImageSharp / resampleOurs,8:F2} {chroma,7:F2}"));
    }
}

return 0;

// libjpeg-turbo's full-size decode through SkiaSharp into RGBA (what an exact path on Skia would cost).
static void SkiaFullDecode(byte[] bytes)
{
    using var data = SkiaSharp.SKData.CreateCopy(bytes);
    using var codec = SkiaSharp.SKCodec.Create(data);
    var info = new SkiaSharp.SKImageInfo(codec.Info.Width, codec.Info.Height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Unpremul);
    var pixels = System.Buffers.ArrayPool<byte>.Shared.Rent(info.BytesSize);
    unsafe
    {
        fixed (byte* p = pixels)
        {
            codec.GetPixels(info, (IntPtr)p);
        }
    }

    System.Buffers.ArrayPool<byte>.Shared.Return(pixels);
}

// Median over batches of ~100 ms, in milliseconds of this thread's CPU time per call (the machine may be shared, so
// wall time would measure the neighbours), after a warm-up.
static double Measure(double seconds, Action action)
{
    double warm = ThreadClock.CpuMilliseconds();
    while (ThreadClock.CpuMilliseconds() - warm < Math.Min(500, seconds * 250))
    {
        action();
    }

    var samples = new List<double>();
    double total = ThreadClock.CpuMilliseconds();
    while (ThreadClock.CpuMilliseconds() - total < seconds * 1000 || samples.Count < 5)
    {
        double start = ThreadClock.CpuMilliseconds();
        int n = 0;
        do
        {
            action();
            n++;
        }
        while (ThreadClock.CpuMilliseconds() - start < 100);
        samples.Add((ThreadClock.CpuMilliseconds() - start) / n);
    }

    samples.Sort();
    return samples[samples.Count / 2];
}

// What one would write with ImageSharp alone: same geometry, ImageSharp's float resamplers (the source image is left
// untouched: Clone with a resize builds the result directly), then normalise.
static void ImageSharpResample(Image<Rgb24> source, PreprocessingSpec spec, float[] tensor)
{
    int s = spec.CropSize;
    Image<Rgb24> image;
    if (spec.Recipe == PreprocessingRecipe.Hub)
    {
        bool portrait = source.Width <= source.Height;
        int shortSide = portrait ? source.Width : source.Height;
        int longSide = portrait ? source.Height : source.Width;
        int newLong = (int)((double)spec.ResizeSize * longSide / shortSide);
        var size = portrait ? new Size(spec.ResizeSize, newLong) : new Size(newLong, spec.ResizeSize);
        int left = (int)Math.Round((size.Width - s) / 2.0, MidpointRounding.ToEven);
        int top = (int)Math.Round((size.Height - s) / 2.0, MidpointRounding.ToEven);
        image = source.Clone(x => x.Resize(size, KnownResamplers.Triangle, compand: false).Crop(new Rectangle(left, top, s, s)));
    }
    else
    {
        double side = (double)s / (s + 32) * Math.Min(source.Width, source.Height);
        int top = (int)Math.Round((source.Height - side) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((source.Width - side) / 2.0, MidpointRounding.ToEven);
        int w = (int)Math.Round(left + side, MidpointRounding.ToEven) - left;
        int h = (int)Math.Round(top + side, MidpointRounding.ToEven) - top;
        image = source.Clone(x => x.Crop(new Rectangle(left, top, w, h)).Resize(new Size(s, s), KnownResamplers.Bicubic, compand: false));
    }

    using var result = image;
    int plane = s * s;
    var mean = spec.Mean;
    var std = spec.Std;
    result.ProcessPixelRows(accessor =>
    {
        for (int y = 0; y < s; y++)
        {
            var row = accessor.GetRowSpan(y);
            for (int x = 0; x < s; x++)
            {
                int i = (y * s) + x;
                tensor[i] = ((row[x].R / 255f) - mean[0]) / std[0];
                tensor[plane + i] = ((row[x].G / 255f) - mean[1]) / std[1];
                tensor[(2 * plane) + i] = ((row[x].B / 255f) - mean[2]) / std[2];
            }
        }
    });
}
