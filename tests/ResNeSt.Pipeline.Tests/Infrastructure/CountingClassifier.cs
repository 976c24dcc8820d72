using ResNeSt.Inference.Classification;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Pipeline.Tests.Infrastructure;

/// <summary>Wraps the real classifier and counts the images it was asked to classify (for the exactly-once tests).</summary>
public sealed class CountingClassifier(IImageClassifier inner) : IImageClassifier
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public ModelCard Model => inner.Model;

    public string ExecutionProvider => inner.ExecutionProvider;

    public Task<Classification> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        return inner.ClassifyAsync(encodedImage, cancellationToken);
    }

    public void Reset() => Interlocked.Exchange(ref _calls, 0);
}
