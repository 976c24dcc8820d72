using ResNeSt.Inference.Classification;

namespace ResNeSt.Inference.Batching;

/// <summary>
/// Writes one preprocessed image (NCHW float32, 3·S·S values) into <paramref name="destination"/>, the caller's slot of
/// the batch tensor, on the caller's own thread; returns whatever the caller wants to keep (e.g. image info).
/// </summary>
public delegate TResult SlotWriter<TState, out TResult>(in TState state, Span<float> destination);

/// <summary>What a caller wants back for its image.</summary>
/// <param name="TopK">How many ranked classes (1..1000).</param>
/// <param name="IncludeLogits">Copy the 1000 raw logits into the result.</param>
/// <param name="WaitWhenFull">Await room when the queue is full (back-pressure); false fails fast with <see cref="InferenceQueueFullException"/>.</param>
public sealed record InferenceRequest(int TopK = SoftmaxTopK.DefaultK, bool IncludeLogits = false, bool WaitWhenFull = true)
{
    public static InferenceRequest Default { get; } = new();
}

/// <summary>One image's result from a batched run.</summary>
/// <param name="QueueWaitMs">From the image being ready in its slot to its batch starting to run.</param>
/// <param name="InferenceMs">The run of the whole batch.</param>
/// <param name="BatchSize">Images in the run (excluding padding).</param>
/// <param name="PaddedBatchSize">The batch size the model saw.</param>
/// <param name="RunEndedTimestamp"><see cref="System.Diagnostics.Stopwatch"/> timestamp at which the run ended: the same for every image of a batch.</param>
public sealed record InferenceOutput(
    IReadOnlyList<Prediction> Predictions,
    float[]? Logits,
    double QueueWaitMs,
    double InferenceMs,
    int BatchSize,
    int PaddedBatchSize,
    long RunEndedTimestamp);

/// <summary>What <see cref="InferenceBatcher.SubmitAsync{TState, TResult}"/> hands back: the writer's result and the inference output.</summary>
public readonly record struct SubmitResult<TResult>(TResult Written, InferenceOutput Output, double WriteMs);

/// <summary>Counters since the batcher started.</summary>
/// <param name="Runs">Model runs.</param>
/// <param name="Images">Images completed by those runs (cancelled and failed ones excluded).</param>
/// <param name="BatchSizes">How many runs had each batch size (index = size).</param>
public sealed record BatcherStatistics(long Runs, long Images, IReadOnlyList<long> BatchSizes, double TotalInferenceMs, double TotalPostprocessMs);
