using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>
/// Inputs the coverage-guided fuzzer (tools/fuzz.sh) found, replayed through the preprocessor with the product's
/// default limits. Each file name records the outcome it must keep: <c>NAME.OUTCOME.EXT</c>, where OUTCOME is
/// <c>ok</c> or a rejection code. A crash the fuzzer found would show here as any other exception.
/// </summary>
public sealed class FuzzRegressionTests
{
    // The two specs the fuzz target runs (fuzz/ResNeSt.Fuzz/FuzzTarget.cs).
    private static readonly PreprocessingSpec s_hub = new(
        PreprocessingRecipe.Hub, 224, ModelCard.ConventionalResize(224), ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    private static readonly PreprocessingSpec s_paperSmall = new(
        PreprocessingRecipe.Paper, 24, ModelCard.ConventionalResize(24), ModelCard.ImageNetMean, ModelCard.ImageNetStd,
        ApplyExifOrientation: false);

    // No decode timeout: the outcomes must not depend on how fast the machine running the tests is.
    private static readonly ImagePreprocessor s_preprocessor = new(ImageLimits.Default);

    private static string FuzzDir => Path.Combine(Fixtures.FixtureDir, "fuzz");

    public static TheoryData<string> Inputs => new(InputNames());

    private static List<string> InputNames() =>
        Directory.EnumerateFiles(FuzzDir)
            .Select(path => Path.GetFileName(path))
            .Where(name => !name.StartsWith("README", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Fuzzer_found_input_keeps_its_recorded_outcome(string name)
    {
        var bytes = File.ReadAllBytes(Path.Combine(FuzzDir, name));
        string expected = name.Split('.')[^2];

        string hub = Outcome(bytes, s_hub);
        string small = Outcome(bytes, s_paperSmall);

        Assert.Equal(expected, hub);
        Assert.Equal(expected, small);
        if (expected == "ok")
        {
            // What the header says (used to answer before decoding) is what decoding found.
            var header = ImagePreprocessor.Identify(bytes, ImageLimits.Default);
            var info = s_preprocessor.Preprocess(bytes, new float[s_hub.TensorLength], s_hub);
            Assert.Equal(header, info);
        }
    }

    [Fact]
    public void Regression_inputs_are_present_small_and_name_known_outcomes()
    {
        var names = InputNames();
        Assert.True(names.Count >= 10, $"only {names.Count} fuzz regression inputs under {FuzzDir}");
        string[] outcomes = ["ok", .. Enum.GetValues<ImageRejectionReason>().Select(ImageRejectedException.ReasonCode)];
        Assert.All(names, name =>
        {
            Assert.Contains(name.Split('.')[^2], outcomes);
            Assert.True(new FileInfo(Path.Combine(FuzzDir, name)).Length <= 16 * 1024, $"{name} is over 16 KB");
        });
    }

    private static string Outcome(byte[] bytes, PreprocessingSpec spec)
    {
        var tensor = new float[spec.TensorLength];
        try
        {
            s_preprocessor.Preprocess(bytes, tensor, spec);
        }
        catch (ImageRejectedException ex)
        {
            return ex.Code;
        }

        // Normalised 8-bit values lie within about ±2.7: anything else was read from outside the image.
        Assert.All(tensor, v => Assert.InRange(v, -3f, 3f));
        return "ok";
    }
}
