using ResNeSt.Inference.Classification;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Testing.Counting;

/// <summary>
/// The real classifier, counted: every image the pipeline hands to the engine. The exactly-once tests and the load
/// test compare this count (and the batcher's own statistics) with the number of blobs.
/// </summary>
public sealed class CountingClassifier(IImageClassifier inner) : IImageClassifier, IAsyncDisposable
{
    private long _calls;

    public IImageClassifier Inner => inner;

    public long Calls => Interlocked.Read(ref _calls);

    public ModelCard Model => inner.Model;

    public string ExecutionProvider => inner.ExecutionProvider;

    public Task<ClassificationResult> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        return inner.ClassifyAsync(encodedImage, cancellationToken);
    }

    public ValueTask DisposeAsync() => ClassifierLifetime.DisposeAsync(inner);
}
