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

    Task<ClassificationResult> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default);
}
