using ResNeSt.Inference.Classification;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Cli.LoadTest;

/// <summary>
/// The production classifier, counted: every image the pipeline hands to the engine. Together with the batcher's own
/// statistics (images that went through an ONNX Runtime run) this proves each blob was inferred at most once.
/// </summary>
internal sealed class CountingClassifier(IImageClassifier inner) : IImageClassifier, IAsyncDisposable
{
    private long _calls;

    public IImageClassifier Inner => inner;

    public long Calls => Interlocked.Read(ref _calls);

    public ModelCard Model => inner.Model;

    public string ExecutionProvider => inner.ExecutionProvider;

    public Task<Classification> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        return inner.ClassifyAsync(encodedImage, cancellationToken);
    }

    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
}
