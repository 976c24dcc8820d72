using System.Collections.Concurrent;

namespace ResNeSt.Pipeline.Processing;

/// <summary>
/// Work that concurrent callers with the same key share: the first caller starts it, the others wait for its result
/// (duplicate deliveries of one blob version to this process classify it once). A key is free again once its work ends.
/// </summary>
public sealed class SharedWork<T>
{
    private readonly ConcurrentDictionary<string, Lazy<Task<T>>> _running = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="work"/> for <paramref name="key"/>, or joins the run already in progress (<c>Joined</c>: true).</summary>
    public async Task<(T Result, bool Joined)> RunAsync(string key, Func<Task<T>> work, Action onJoining, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onJoining);
        var mine = new Lazy<Task<T>>(work, LazyThreadSafetyMode.ExecutionAndPublication);
        var current = _running.GetOrAdd(key, mine);
        if (!ReferenceEquals(current, mine))
        {
            onJoining();
            return (await current.Value.WaitAsync(cancellationToken).ConfigureAwait(false), true);
        }

        try
        {
            return (await mine.Value.ConfigureAwait(false), false);
        }
        finally
        {
            _running.TryRemove(new KeyValuePair<string, Lazy<Task<T>>>(key, mine));
        }
    }
}
