using System.Globalization;
using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

// Single-thread cost of preprocessing one image, against baselines measured in the same run:
//   decode    ImageSharp's decode to Rgb24 alone (the floor: what any pipeline pays)
//   ours      ImagePreprocessor.Preprocess (decode + PIL-exact resample + normalise into the tensor)
//   imagesharp  decode + ImageSharp's own Resize (Triangle / Bicubic) + Crop + a normalise loop (not PIL-exact)
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
var configuration = Configuration.Default.Clone();
configuration.MaxDegreeOfParallelism = 1;

Console.WriteLine($"{"file",-28} {"size",-10} {"recipe",-7} {"decode ms",10} {"ours ms",9} {"imagesharp ms",14} {"resample ours",14} {"resample IS",12} {"IS/ours",8}");
foreach (var file in files)
{
    var bytes = File.ReadAllBytes(file);
    var info = ImagePreprocessor.Identify(bytes, ImageLimits.Default);
    foreach (var recipe in new[] { PreprocessingRecipe.Hub, PreprocessingRecipe.Paper })
    {
        var spec = new PreprocessingSpec(recipe, 224, 256, ModelCard.ImageNetMean, ModelCard.ImageNetStd);
        var tensor = new float[spec.TensorLength];
        double decode = Measure(seconds, () =>
        {
            using var image = Image.Load<Rgb24>(configuration, bytes);
        });
        double ours = Measure(seconds, () => preprocessor.Preprocess(bytes, tensor, spec));
        double imageSharp = Measure(seconds, () => ImageSharpPipeline(configuration, bytes, spec, tensor));
        double resampleOurs = ours - decode;
        double resampleImageSharp = imageSharp - decode;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Path.GetFileName(file),-28} {info.Width + "x" + info.Height,-10} {recipe.ToString().ToLowerInvariant(),-7} {decode,10:F3} {ours,9:F3} {imageSharp,14:F3} {resampleOurs,14:F3} {resampleImageSharp,12:F3} {resampleImageSharp / resampleOurs,8:F2}"));
    }
}

return 0;

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

// What one would write with ImageSharp alone: same geometry, ImageSharp's float resamplers, then normalise.
static void ImageSharpPipeline(Configuration configuration, byte[] bytes, PreprocessingSpec spec, float[] tensor)
{
    using var image = Image.Load<Rgb24>(configuration, bytes);
    int s = spec.CropSize;
    if (spec.Recipe == PreprocessingRecipe.Hub)
    {
        bool portrait = image.Width <= image.Height;
        int shortSide = portrait ? image.Width : image.Height;
        int longSide = portrait ? image.Height : image.Width;
        int newLong = (int)((double)spec.ResizeSize * longSide / shortSide);
        var size = portrait ? new Size(spec.ResizeSize, newLong) : new Size(newLong, spec.ResizeSize);
        int left = (int)Math.Round((size.Width - s) / 2.0, MidpointRounding.ToEven);
        int top = (int)Math.Round((size.Height - s) / 2.0, MidpointRounding.ToEven);
        image.Mutate(x => x.Resize(size, KnownResamplers.Triangle, compand: false).Crop(new Rectangle(left, top, s, s)));
    }
    else
    {
        double side = (double)s / (s + 32) * Math.Min(image.Width, image.Height);
        int top = (int)Math.Round((image.Height - side) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((image.Width - side) / 2.0, MidpointRounding.ToEven);
        int w = (int)Math.Round(left + side, MidpointRounding.ToEven) - left;
        int h = (int)Math.Round(top + side, MidpointRounding.ToEven) - top;
        image.Mutate(x => x.Crop(new Rectangle(left, top, w, h)).Resize(new Size(s, s), KnownResamplers.Bicubic, compand: false));
    }

    int plane = s * s;
    var mean = spec.Mean;
    var std = spec.Std;
    image.ProcessPixelRows(accessor =>
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
