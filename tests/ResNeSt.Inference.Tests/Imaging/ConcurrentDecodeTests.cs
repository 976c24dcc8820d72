using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using ResNeSt.Testing.Diagnostics;
using Xunit.Abstractions;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>
/// The worst legitimate decodes, eight at once: per-image limits admit each of them, and only the process-wide decode
/// budget keeps them from holding gigabytes together (eight 16-bit PNGs took 3.27 GiB, then all failed the timeout).
/// </summary>
public sealed class ConcurrentDecodeTests(HostileCorpusFixture corpus, ITestOutputHelper output) : IClassFixture<HostileCorpusFixture>
{
    private static readonly PreprocessingSpec s_spec = new(PreprocessingRecipe.Hub, 64, 73, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    [Fact]
    public async Task Eight_concurrent_36_megapixel_16_bit_pngs_stay_under_a_gibibyte_of_working_set()
    {
        var png = corpus.Files.Single(f => f.Name.EndsWith("png-6000x6000-rgb16-uniform.png", StringComparison.Ordinal)).Content;
        var preprocessor = new ImagePreprocessor(ImageLimits.Default);
        using var memory = WorkingSetSampler.Start();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => preprocessor.Preprocess(png, new float[s_spec.TensorLength], s_spec))));
        long growth = memory.Peak - memory.Baseline;
        output.WriteLine($"8 × {png.Length} bytes (6000×6000, 16-bit RGB): working set +{growth >> 20} MiB (baseline {memory.Baseline >> 20} MiB)");
        Assert.True(growth < 1L << 30, $"the working set grew by {growth >> 20} MiB");
    }
}
