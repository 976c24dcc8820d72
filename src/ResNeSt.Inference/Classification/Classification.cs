using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Classification;

/// <summary>One ranked class.</summary>
public sealed record Prediction(int Index, string Label, float Probability);

/// <summary>What the decoder learned about the image (before preprocessing).</summary>
public sealed record ImageInfo(string Format, int Width, int Height);

/// <summary>Where the time for one image went, in milliseconds.</summary>
public sealed record StageTimings(double DecodeAndPreprocessMs, double QueueWaitMs, double InferenceMs, int BatchSize);

/// <summary>The answer for one image: top-k predictions plus enough context to trust and reproduce it.</summary>
public sealed record Classification(
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

/// <summary>
/// The inference facade: encoded image bytes in, classification out. Throws <see cref="Imaging.ImageRejectedException"/>
/// for a bad image (permanent) and any other exception for a fault of the engine (transient).
/// </summary>
public interface IImageClassifier
{
    /// <summary>The model this classifier runs, as its card says.</summary>
    ModelCard Model { get; }

    /// <summary>The execution provider actually in use (<c>CUDAExecutionProvider</c> or <c>CPUExecutionProvider</c>).</summary>
    string ExecutionProvider { get; }

    Task<Classification> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default);
}
