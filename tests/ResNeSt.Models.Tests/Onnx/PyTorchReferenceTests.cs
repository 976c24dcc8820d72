using System.Text.Json;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Tests.Onnx;

/// <summary>
/// The graph against PyTorch: tools/make_graph_fixture.py runs the architecture written with
/// torch.nn.functional on the very weights RandomWeights gives for a seed (reproduced bit for bit in numpy), and
/// stores the logits. Equality here means the ONNX graph computes the same function as PyTorch's ops do.
/// </summary>
public sealed class PyTorchReferenceTests
{
    public static TheoryData<int> Cases => [0, 1];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Folded_and_unfolded_graphs_match_pytorch_logits(int index)
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "graph-reference.json")));
        var reference = fixture.RootElement.GetProperty("cases")[index];
        int[] blocks = [.. reference.GetProperty("blocks").EnumerateArray().Select(b => b.GetInt32())];
        int crop = reference.GetProperty("crop").GetInt32();
        int batch = reference.GetProperty("batch").GetInt32();
        var variant = ResNeStVariant.Reduced(blocks, reference.GetProperty("stem_width").GetInt32(), crop);
        var weights = RandomWeights.Create(variant, reference.GetProperty("seed").GetInt32());
        var expected = reference.GetProperty("logits").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();

        foreach (bool fold in new[] { true, false })
        {
            var model = ResNeStOnnxBuilder.Build(variant, weights, ModelCard.ForImageNet(variant.Name, crop), new OnnxBuildOptions { FoldBatchNorm = fold });
            using var runner = new OrtRunner(model);
            var actual = runner.Run(Images(batch, crop), batch, crop);
            for (int n = 0; n < batch; n++)
            {
                Assert.InRange(OrtRunner.MaxAbsDifference(expected[n], actual[n]), 0, 1e-4f);
            }
        }
    }

    /// <summary>The input the fixture script builds (same formula, float64 then float32).</summary>
    private static float[] Images(int batch, int crop)
    {
        var data = new float[batch * 3 * crop * crop];
        int i = 0;
        for (int n = 0; n < batch; n++)
        {
            for (int c = 0; c < 3; c++)
            {
                for (int y = 0; y < crop; y++)
                {
                    for (int x = 0; x < crop; x++)
                    {
                        data[i++] = (float)((1.5 * Math.Sin((0.05 * (x + 1) * (c + 1)) + (0.07 * y * (n + 1)))) - (0.3 * Math.Cos((0.11 * x * y / crop) + n)));
                    }
                }
            }
        }

        return data;
    }
}
