using System.Globalization;
using System.Text;
using ResNeSt.Inference.Imaging;
using Xunit.Abstractions;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>
/// The tensors must be the ones PIL + torchvision make from the same files (references from
/// tools/make-preprocessing-references.py). Differences are reported in units of 1/255.
/// </summary>
public sealed class PreprocessingParityTests(ITestOutputHelper output)
{
    private static readonly ImagePreprocessor s_preprocessor = new(ImageLimits.Default);

    // Formats whose decoding is lossless and therefore identical in ImageSharp and PIL.
    private static bool IsLossless(string input) =>
        input.EndsWith(".png", StringComparison.Ordinal) || input.EndsWith(".bmp", StringComparison.Ordinal)
        || input.EndsWith(".gif", StringComparison.Ordinal) || input.EndsWith(".webp", StringComparison.Ordinal);

    [Fact]
    public void Every_reference_case_matches_torchvision()
    {
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{"image",-28} {"recipe",-10} {"mean",7} {"max",4} {"differing",10}");
        var failures = new List<string>();
        foreach (var c in Fixtures.Cases())
        {
            var (mean, max, differing) = Compare(c);
            table.AppendLine(CultureInfo.InvariantCulture,
                $"{c.Name + (c.Exif ? " (exif)" : ""),-28} {c.Recipe.ToString().ToLowerInvariant() + c.Crop.ToString(CultureInfo.InvariantCulture),-10} {mean,7:F4} {max,4} {differing,10:P2}");
            if (mean > 0.5 || (IsLossless(c.Input) && max > 1))
            {
                failures.Add($"{c}: mean {mean:F4}/255, max {max}/255");
            }
        }

        output.WriteLine(table.ToString());
        Assert.Empty(failures);
    }

    [Fact]
    public void Lossless_inputs_are_bit_exact()
    {
        // PNG, BMP, GIF and lossless WebP decode identically everywhere, so any difference is the resampler's fault.
        foreach (var c in Fixtures.Cases().Where(c => IsLossless(c.Input)))
        {
            var (_, max, _) = Compare(c);
            Assert.True(max == 0, $"{c}: max difference {max}/255");
        }
    }

    private static (double Mean, int Max, double Differing) Compare(ParityCase c)
    {
        var spec = c.Spec;
        var tensor = new float[spec.TensorLength];
        s_preprocessor.Preprocess(File.ReadAllBytes(Path.Combine(Fixtures.RepoRoot, c.Input)), tensor, spec);
        var mine = Fixtures.Denormalise(tensor, c.Crop, spec);
        var reference = Fixtures.LoadReference(c);
        Assert.Equal(reference.Length, mine.Length);
        long sum = 0;
        int max = 0, differing = 0;
        for (int i = 0; i < mine.Length; i++)
        {
            int d = Math.Abs(mine[i] - reference[i]);
            sum += d;
            max = Math.Max(max, d);
            differing += d != 0 ? 1 : 0;
        }

        return ((double)sum / mine.Length, max, (double)differing / mine.Length);
    }
}
