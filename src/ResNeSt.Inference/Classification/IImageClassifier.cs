using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Classification;

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

    /// <summary>Classifies the image, waiting for room when the inference queue is full (back-pressure).</summary>
    Task<ClassificationResult> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default);

    /// <summary>
    /// Classifies the image unless the inference queue is full, in which case it throws
    /// <see cref="Batching.InferenceQueueFullException"/> at once: for a caller that can answer "busy, retry" (an HTTP
    /// request) instead of holding its connection while the queue drains.
    /// </summary>
    Task<ClassificationResult> ClassifyIfRoomAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default);
}
