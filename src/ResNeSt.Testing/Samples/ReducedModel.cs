using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;

namespace ResNeSt.Testing.Samples;

/// <summary>
/// The model the tests and the load test run: a reduced ResNeSt (one block per stage, the real block types) with seeded
/// random weights. Milliseconds per image on a CPU, so what is measured around it is the pipeline; its labels mean
/// nothing, its behaviour is real.
/// </summary>
public static class ReducedModel
{
    /// <summary>The seed of the weights: the same model in every process that writes one.</summary>
    public const int Seed = 7;

    public static ResNeStVariant Variant { get; } = ResNeStVariant.Reduced([1, 1, 1, 1], stemWidth: 8, cropSize: 64);

    /// <summary>Writes the model, fp32, with a model card naming its random weights, to <paramref name="path"/>.</summary>
    public static void Write(string path)
    {
        var card = ModelCard.ForImageNet(Variant.Name, Variant.CropSize) with { WeightSource = $"random(seed={Seed})" };
        ModelWriter.Save(ResNeStOnnxBuilder.Build(Variant, RandomWeights.Create(Variant, Seed), card, ModelPrecision.Fp32), path);
    }
}
