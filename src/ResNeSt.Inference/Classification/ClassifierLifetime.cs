namespace ResNeSt.Inference.Classification;

/// <summary>
/// Ends a classifier's life whatever it implements: the engine-backed classifier is asynchronously disposable (it
/// drains its batcher), decorators forward to what they wrap, and a classifier may own nothing at all.
/// </summary>
public static class ClassifierLifetime
{
    public static async ValueTask DisposeAsync(IImageClassifier? classifier)
    {
        switch (classifier)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
