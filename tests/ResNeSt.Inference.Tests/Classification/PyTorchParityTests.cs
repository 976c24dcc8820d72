using System.Text.Json;
using ResNeSt.Inference.Batching;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Runtime;
using ResNeSt.Inference.Tests.Imaging;
using ResNeSt.Models.Checkpoints;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.TestSupport;
using Xunit.Abstractions;

namespace ResNeSt.Inference.Tests.Classification;

/// <summary>
/// The promise a stored result rests on: for the same image file and the same weights, the whole .NET path
/// (checkpoint reader → ONNX → ImageSharp decode → PIL-exact preprocessing → ONNX Runtime → softmax/top-k) gives the
/// answer of the torch.hub pipeline (PIL + torchvision + PyTorch). The network is a weighted reduced ResNeSt (crop 64)
/// whose PyTorch results are committed (tools/make-torch-parity-fixture.sh); CI needs no PyTorch. Its weights are
/// committed as a recipe, expanded into a real .pth (<see cref="ParityCheckpoint"/>) that the reader then reads.
/// </summary>
public sealed class PyTorchParityTests(ITestOutputHelper output)
{
    private static string ParityDir => Path.Combine(Fixtures.FixtureDir, "torch-parity");

    [Fact]
    public async Task Every_sample_image_gets_PyTorchs_top1_and_ordered_top5()
    {
        var variant = ParityCheckpoint.Variant;
        var checkpoint = await TorchCheckpoint.LoadAsync(await ParityCheckpoint.ExpandAsync(Path.Combine(ParityDir, "reduced-seed5.recipe.json")), variant);
        var card = ModelCard.ForImageNet(variant.Name, variant.CropSize);
        Assert.Equal(73, card.ResizeSize); // torchvision's Resize(int(64 / 0.875)), as the reference used
        var modelPath = Path.Combine(Path.GetTempPath(), $"resnest-parity-{Guid.NewGuid():N}.onnx");
        ModelWriter.Save(ResNeStOnnxBuilder.Build(variant, checkpoint.Weights, card, new OnnxBuildOptions()), modelPath);
        try
        {
            // PIL ignores EXIF orientation; the reference therefore does too.
            await using var classifier = ResNeStClassifier.Load(
                modelPath,
                new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = 1 },
                options: new ClassifierOptions(ApplyExifOrientation: false));

            var references = File.ReadLines(Path.Combine(ParityDir, "reference.jsonl")).Select(Reference.Parse).ToList();
            Assert.Equal(Directory.GetFiles(Path.Combine(Fixtures.RepoRoot, "samples", "images")).Length, references.Count);
            foreach (var reference in references)
            {
                var bytes = await File.ReadAllBytesAsync(Fixtures.Sample(reference.File));
                var result = await classifier.ClassifyAsync(bytes, new InferenceRequest(TopK: 5, IncludeLogits: true));
                var logits = result.Logits!;
                double worst = reference.Logits.Select((v, i) => Math.Abs(v - logits[i])).Max();
                var ours = result.Classification.Predictions.Select(p => p.Index).ToArray();
                output.WriteLine($"{reference.File}: top-5 ours [{string.Join(", ", ours)}], PyTorch [{string.Join(", ", reference.Top5)}], max |Δlogit| {worst:E2}");

                Assert.Equal(reference.Top5, ours);

                // PNG decodes identically in both, so only float rounding separates the logits; JPEG carries the
                // IDCT differences (libjpeg's integer IDCT vs ImageSharp's float one) through the network.
                bool png = reference.File.EndsWith(".png", StringComparison.Ordinal);
                double limit = png ? 1e-3 : 0.25;
                Assert.True(worst <= limit, $"{reference.File}: max |Δlogit| {worst:E2} exceeds {limit:E0}");
                for (int k = 0; k < 5; k++)
                {
                    Assert.Equal(reference.Probabilities[k], result.Classification.Predictions[k].Probability, png ? 1e-5 : 0.02);
                }
            }
        }
        finally
        {
            File.Delete(modelPath);
        }
    }

    private sealed record Reference(string File, int[] Top5, double[] Probabilities, double[] Logits)
    {
        public static Reference Parse(string line)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var predictions = root.GetProperty("predictions").EnumerateArray().ToList();
            return new Reference(
                root.GetProperty("file").GetString()!,
                predictions.Select(p => p.GetProperty("index").GetInt32()).ToArray(),
                predictions.Select(p => p.GetProperty("probability").GetDouble()).ToArray(),
                root.GetProperty("logits").EnumerateArray().Select(v => v.GetDouble()).ToArray());
        }
    }
}
