using ResNeSt.Models.Checkpoints;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Tests.Onnx;
using Xunit.Abstractions;

namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>
/// The end-to-end promise: a PyTorch checkpoint converted to ONNX gives the logits PyTorch computed with the network
/// it came from (the reference is PyTorch's float64 evaluation of the float32 network, so the tolerance measures our
/// float32 graph alone).
/// </summary>
public sealed class ConvertedCheckpointTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("zip", true)]
    [InlineData("legacy", true)]
    [InlineData("zip", false)]
    public async Task A_converted_checkpoint_gives_PyTorchs_logits(string format, bool foldBatchNorm)
    {
        var fixture = Fixtures.Reduced;
        string file = format == "zip" ? fixture.ZipCheckpoint : fixture.LegacyCheckpoint;
        var checkpoint = await TorchCheckpoint.LoadAsync(Fixtures.PathOf(file), Fixtures.ReducedVariant);
        var card = ModelCard.ForImageNet(checkpoint.Variant.Name, fixture.CropSize);

        var model = ResNeStOnnxBuilder.Build(checkpoint.Variant, checkpoint.Weights, card, new OnnxBuildOptions { FoldBatchNorm = foldBatchNorm });
        using var runner = new OrtRunner(model);
        float[][] logits = runner.Run(Fixtures.ReadFloat32(fixture.Input), fixture.Batch, fixture.CropSize);

        double[] expected = Fixtures.ReadFloat64(fixture.Logits);
        Assert.Equal(fixture.Batch * 1000, expected.Length);
        double worst = 0;
        for (int n = 0; n < fixture.Batch; n++)
        {
            for (int c = 0; c < 1000; c++)
            {
                worst = Math.Max(worst, Math.Abs(logits[n][c] - expected[(n * 1000) + c]));
            }
        }

        output.WriteLine($"{format}, fold {foldBatchNorm}: max |ONNX - PyTorch| = {worst:E2}");
        Assert.True(worst <= Tolerance, $"max |ONNX - PyTorch| = {worst:E2} exceeds {Tolerance:E0}");
        // The reference is not degenerate: logits are spread, and the two images get different top classes or scores.
        Assert.True(expected.Max() - expected.Min() > 5, "the fixture's logits should be spread");
        Assert.Equal(checkpoint.Weights.SourceSha256, OnnxModelInfo.From(model).Metadata[ModelCard.Keys.SourceSha256]);
    }
}
