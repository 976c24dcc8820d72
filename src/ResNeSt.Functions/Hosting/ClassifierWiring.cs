using ResNeSt.Inference.Classification;
using ResNeSt.Pipeline.Models;

namespace ResNeSt.Functions.Hosting;

/// <summary>Builds the inference engine for the verified model file.</summary>
internal static class ClassifierWiring
{
    // TEMPORARY until ResNeSt.Inference's ResNeStClassifier is merged into main.
    public static IImageClassifier Create(LocalModel model, IServiceProvider services) =>
        throw new InvalidOperationException($"No inference engine is wired yet; cannot load {model?.Path} ({services}).");
}
