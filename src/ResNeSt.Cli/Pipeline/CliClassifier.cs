using ResNeSt.Inference.Classification;
using ResNeSt.Pipeline.Models;

namespace ResNeSt.Cli.Pipeline;

/// <summary>Builds the inference engine for the CLI's pipeline verbs.</summary>
internal static class CliClassifier
{
    // TEMPORARY until ResNeSt.Inference's ResNeStClassifier is merged into main.
    public static IImageClassifier Create(LocalModel model, int maxBatchSize) =>
        throw new InvalidOperationException($"No inference engine is wired yet; cannot load {model?.Path} (batch {maxBatchSize}).");
}
