using System.Diagnostics.CodeAnalysis;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// Memory the process lets image decodes hold at once, across every caller: each decode first takes what it will
/// allocate (estimated from its header, before any pixel is decoded) and gives it back when its tensor is written. Per
/// image limits alone let eight concurrent 40-megapixel 16-bit PNGs (245 KB each) take 3.27 GiB together.
/// </summary>
/// <remarks>
/// Callers are served first come, first served, so a large decode is not starved by a stream of small ones; one that
/// asks for more than the whole budget waits until it can have all of it. The wait blocks the decoding thread: the
/// decode entry point (<see cref="ImagePreprocessor.Preprocess(ReadOnlySpan{byte}, Span{float}, PreprocessingSpec, CancellationToken)"/>)
/// is synchronous, and any decoder behind it is covered.
/// </remarks>
public sealed class DecodeBudget
{
    /// <summary>The default for the process: 768 MiB, with the model and runtime (~400 MB) under 1.5 GB in all.</summary>
    public const long DefaultCapacityBytes = 768L << 20;

    private readonly object _gate = new();
    private readonly HashSet<long> _abandoned = [];
    private long _available;
    private long _nextTicket;
    private long _serving;

    public DecodeBudget(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBytes, 1);
        Capacity = capacityBytes;
        _available = capacityBytes;
    }

    /// <summary>The one budget every preprocessor of the process shares unless given its own.</summary>
    public static DecodeBudget Process { get; } = new(DefaultCapacityBytes);

    public long Capacity { get; }

    /// <summary>Bytes currently held by decodes.</summary>
    public long InUse
    {
        get
        {
            lock (_gate)
            {
                return Capacity - _available;
            }
        }
    }

    /// <summary>Waits (blocking) until <paramref name="bytes"/> (at most the capacity) are free and takes them.</summary>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting; nothing is held.</exception>
    public Lease Acquire(long bytes, CancellationToken cancellationToken)
    {
        bytes = Math.Clamp(bytes, 0, Capacity);
        using var wake = cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(static g => Pulse(g!), _gate) : default;
        lock (_gate)
        {
            long ticket = _nextTicket++;
            while (ticket != _serving || _available < bytes)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    Abandon(ticket);
                    cancellationToken.ThrowIfCancellationRequested();
                }

                Monitor.Wait(_gate);
            }

            _available -= bytes;
            Advance();
            return new Lease(this, bytes);
        }
    }

    private static void Pulse(object gate)
    {
        lock (gate)
        {
            Monitor.PulseAll(gate);
        }
    }

    // Called with the gate held: the next ticket is served, skipping those whose callers gave up.
    private void Advance()
    {
        _serving++;
        while (_abandoned.Remove(_serving))
        {
            _serving++;
        }

        Monitor.PulseAll(_gate);
    }

    private void Abandon(long ticket)
    {
        if (ticket == _serving)
        {
            Advance();
        }
        else
        {
            _abandoned.Add(ticket);
        }
    }

    private void Release(long bytes)
    {
        lock (_gate)
        {
            _available += bytes;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Bytes held by one decode; disposing gives them back (once).</summary>
    [SuppressMessage("Performance", "CA1815:Override equals and operator equals on value types", Justification = "A handle, never compared.")]
    public struct Lease : IDisposable
    {
        private DecodeBudget? _owner;

        internal Lease(DecodeBudget owner, long bytes)
        {
            _owner = owner;
            Bytes = bytes;
        }

        public long Bytes { get; }

        public void Dispose()
        {
            if (_owner is { } owner)
            {
                _owner = null;
                owner.Release(Bytes);
            }
        }
    }
}
