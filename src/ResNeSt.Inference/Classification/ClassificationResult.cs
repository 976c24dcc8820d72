using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Classification;

/// <summary>The answer for one image: top-k predictions plus enough context to trust and reproduce it.</summary>
public sealed record ClassificationResult(
    IReadOnlyList<Prediction> Predictions,
    ImageInfo Image,
    string ModelVariant,
    string? ModelSha256,
    PreprocessingRecipe Recipe,
    int CropSize,
    string ExecutionProvider,
    StageTimings Timings)
{
    public Prediction Top1 => Predictions[0];
}
