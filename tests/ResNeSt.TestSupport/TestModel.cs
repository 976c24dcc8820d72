using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;

namespace ResNeSt.TestSupport;

/// <summary>
/// The model the tests run: a reduced ResNeSt (one block per stage, the real block types) with seeded random weights,
/// written by the model builder once per test run. Fast on CPU; its labels mean nothing, its behaviour is real.
/// </summary>
public static class TestModel
{
    public static ResNeStVariant Variant { get; } = ResNeStVariant.Reduced([1, 1, 1, 1], stemWidth: 8, cropSize: 64);

    private static readonly Lazy<string> s_path = new(Write);

    public static string Path => s_path.Value;

    private static string Write()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"resnest-pipeline-tests-{Environment.ProcessId}.onnx");
        var card = ModelCard.ForImageNet(Variant.Name, Variant.CropSize) with { WeightSource = "random(seed=7)" };
        ModelWriter.Save(ResNeStOnnxBuilder.Build(Variant, RandomWeights.Create(Variant, 7), card, ModelPrecision.Fp32), path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(path);
        return path;
    }
}
