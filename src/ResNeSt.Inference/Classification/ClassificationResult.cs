using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Classification;

/// <summary>One ranked class.</summary>
public sealed record Prediction(int Index, string Label, float Probability);

/// <summary>What the decoder learned about the image (before preprocessing).</summary>
public sealed record ImageInfo(string Format, int Width, int Height);

/// <summary>Where the time for one image went, in milliseconds.</summary>
public sealed record StageTimings(double DecodeAndPreprocessMs, double QueueWaitMs, double InferenceMs, int BatchSize);

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
