using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Diagnostics;
using ResNeSt.Inference.Runtime;

namespace ResNeSt.Inference.Batching;

/// <summary>
/// Dynamic batching: concurrent callers each rent a slot of the batch tensor that is currently open, write their
/// preprocessed image into it on their own thread (so decoding the next batch overlaps the current run), and await
/// their own result. One consumer thread runs a batch when it is full, or <see cref="InferenceOptions.MaxBatchDelay"/>
/// after its first image became ready, whichever comes first.
/// </summary>
public sealed class InferenceBatcher : IAsyncDisposable
{
    // One batch running, one filling and one sealed in between are enough to keep the model busy.
    private const int BatchBufferCount = 3;

    private readonly InferenceEngine _engine;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<string> _labels;
    private readonly int _maxBatch;
    private readonly long _maxDelayTicks;
    private readonly SemaphoreSlim _capacity;
    private readonly Channel<Batch> _free = Channel.CreateUnbounded<Batch>();
    private readonly Channel<Batch> _pending = Channel.CreateUnbounded<Batch>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Batch[] _batches;
    private readonly Thread _consumer;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly long[] _batchSizeCounts;
    private Batch? _open;
    private bool _disposed;
    private long _runs;
    private long _images;
    private long _inferenceTicks;
    private long _postprocessTicks;

    public InferenceBatcher(InferenceEngine engine, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _engine = engine;
        _logger = logger ?? NullLogger.Instance;
        _labels = engine.Card.ClassNames;
        _maxBatch = engine.MaxBatchSize;
        _maxDelayTicks = (long)(engine.Options.MaxBatchDelay.TotalSeconds * Stopwatch.Frequency);
        _capacity = new SemaphoreSlim(engine.Options.QueueCapacity, engine.Options.QueueCapacity);
        _batchSizeCounts = new long[_maxBatch + 1];
        _batches = new Batch[BatchBufferCount];
        for (var i = 0; i < _batches.Length; i++)
        {
            _batches[i] = new Batch(engine.CreateBatch(), _maxBatch);
            _free.Writer.TryWrite(_batches[i]);
        }

        // A dedicated thread: Run blocks for the length of a batch and must not hold a thread-pool thread the callers need.
        _consumer = new Thread(ConsumeLoop) { IsBackground = true, Name = "ResNeSt inference batcher" };
        _consumer.Start();
    }

    /// <summary>Images admitted and not yet completed (waiting for a slot, being written, queued or running).</summary>
    public int InFlight => _engine.Options.QueueCapacity - _capacity.CurrentCount;

    public BatcherStatistics Statistics => new(
        Interlocked.Read(ref _runs),
        Interlocked.Read(ref _images),
        Enumerable.Range(0, _batchSizeCounts.Length).Select(i => Interlocked.Read(ref _batchSizeCounts[i])).ToArray(),
        Interlocked.Read(ref _inferenceTicks) * 1000.0 / Stopwatch.Frequency,
        Interlocked.Read(ref _postprocessTicks) * 1000.0 / Stopwatch.Frequency);

    /// <summary>
    /// Rents a slot, lets <paramref name="writer"/> fill it on this thread, then waits for the batch to run.
    /// An exception from the writer abandons only this slot and is rethrown to this caller.
    /// Cancellation before the batch runs removes the image from it; during the run, the result is discarded.
    /// </summary>
    public async Task<SubmitResult<TResult>> SubmitAsync<TState, TResult>(
        TState state, SlotWriter<TState, TResult> writer, InferenceRequest? request = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        request ??= InferenceRequest.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(request.TopK, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(request.TopK, InferenceEngine.ClassCount);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);

        if (request.WaitWhenFull)
        {
            await _capacity.WaitAsync(cancellationToken);
        }
        else if (!_capacity.Wait(0, CancellationToken.None))
        {
            throw new InferenceQueueFullException($"The inference queue is full ({_engine.Options.QueueCapacity} images in flight).");
        }

        try
        {
            var (batch, index) = await ReserveAsync(cancellationToken);
            TResult written;
            var writeStarted = Stopwatch.GetTimestamp();
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                written = writer(in state, batch.Tensors.Slot(index));
            }
            catch
            {
                Settle(batch, index, pending: null);
                throw;
            }

            var writeMs = Stopwatch.GetElapsedTime(writeStarted).TotalMilliseconds;
            var pending = new PendingImage(this, batch, index, request);
            Settle(batch, index, pending);
            using (cancellationToken.UnsafeRegister(static (state, token) => ((PendingImage)state!).Cancel(token), pending))
            {
                var output = await pending.Task;
                return new SubmitResult<TResult>(written, output, writeMs);
            }
        }
        finally
        {
            _capacity.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _pending.Writer.TryComplete();
        }

        // Wake a consumer that is waiting for a batch to fill: it runs what it has and stops.
        foreach (var batch in _batches)
        {
            batch.Changed.Release();
        }

        await _stopped.Task;
        // The semaphores are deliberately not disposed: callers whose results were just set still run their
        // continuations (Settle, the capacity release) after the consumer stops, and a SemaphoreSlim whose wait
        // handle is never requested holds nothing that needs freeing. The tensors are safe to free: every reserved
        // slot was settled before the consumer stopped, and no slot can be reserved any more.
        foreach (var batch in _batches)
        {
            batch.Dispose();
        }
    }

    private async ValueTask<(Batch Batch, int Index)> ReserveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (TryReserveInOpenBatch(out var reserved))
                {
                    return reserved;
                }
            }

            // No open batch with room: wait for a free tensor (every buffer is queued or running: back-pressure).
            var fresh = await _free.Reader.ReadAsync(cancellationToken);
            lock (_gate)
            {
                if (_disposed)
                {
                    _free.Writer.TryWrite(fresh);
                    throw new ObjectDisposedException(typeof(InferenceBatcher).FullName);
                }

                if (TryReserveInOpenBatch(out var reserved))
                {
                    // Someone else opened a batch meanwhile: give the buffer back.
                    _free.Writer.TryWrite(fresh);
                    return reserved;
                }

                fresh.Open();
                _open = fresh;
                _pending.Writer.TryWrite(fresh);
                TryReserveInOpenBatch(out reserved);
                return reserved;
            }
        }
    }

    // Caller holds _gate.
    private bool TryReserveInOpenBatch(out (Batch, int) reserved)
    {
        if (_open is { Sealed: false } batch && batch.Reserved < _maxBatch)
        {
            var index = batch.Reserved++;
            batch.Phases[index] = SlotPhase.Writing;
            if (batch.Reserved == _maxBatch)
            {
                _open = null;
            }

            reserved = (batch, index);
            return true;
        }

        reserved = default;
        return false;
    }

    /// <summary>The writer finished: <paramref name="pending"/> is the ready image, or null when writing failed.</summary>
    private void Settle(Batch batch, int index, PendingImage? pending)
    {
        lock (_gate)
        {
            batch.Phases[index] = pending is null ? SlotPhase.Abandoned : SlotPhase.Ready;
            batch.Images[index] = pending;
            batch.Settled++;
            if (batch.FirstSettledAt == 0)
            {
                batch.FirstSettledAt = Stopwatch.GetTimestamp();
            }
        }

        batch.Changed.Release();
    }

    private void Cancel(PendingImage image, CancellationToken token)
    {
        lock (_gate)
        {
            // Not yet running: take the image out so the run does not spend time on it.
            if (!image.Batch.Running && image.Batch.Images[image.Index] == image)
            {
                image.Batch.Phases[image.Index] = SlotPhase.Cancelled;
            }
        }

        image.TrySetCanceled(token);
    }

    private void ConsumeLoop()
    {
        try
        {
            while (_pending.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (_pending.Reader.TryRead(out var batch))
                {
                    WaitUntilDue(batch);
                    RunBatch(batch);
                    lock (_gate)
                    {
                        batch.Recycle();
                    }

                    _free.Writer.TryWrite(batch);
                }
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>Waits until the batch is full and written, or its delay has passed; then seals it and waits for slots still being written.</summary>
    private void WaitUntilDue(Batch batch)
    {
        while (true)
        {
            int timeoutMs;
            lock (_gate)
            {
                if (_disposed || (batch.Reserved == _maxBatch && batch.Settled == batch.Reserved))
                {
                    break;
                }

                if (batch.FirstSettledAt == 0)
                {
                    timeoutMs = Timeout.Infinite; // Every caller is still writing; the delay has not started.
                }
                else
                {
                    var remaining = batch.FirstSettledAt + _maxDelayTicks - Stopwatch.GetTimestamp();
                    if (remaining <= 0)
                    {
                        break;
                    }

                    timeoutMs = (int)Math.Ceiling(remaining * 1000.0 / Stopwatch.Frequency);
                }
            }

            batch.Changed.Wait(timeoutMs);
        }

        lock (_gate)
        {
            batch.Sealed = true;
            if (_open == batch)
            {
                _open = null;
            }
        }

        while (true)
        {
            lock (_gate)
            {
                if (batch.Settled == batch.Reserved)
                {
                    batch.Running = true;
                    return;
                }
            }

            batch.Changed.Wait();
        }
    }

    private void RunBatch(Batch batch)
    {
        // Close the gaps left by failed and cancelled images so the run only computes live ones.
        var count = 0;
        for (var i = 0; i < batch.Reserved; i++)
        {
            if (batch.Phases[i] == SlotPhase.Ready && batch.Images[i] is { } image)
            {
                if (i != count)
                {
                    batch.Tensors.MoveSlot(i, count);
                }

                batch.Live[count++] = image;
            }
        }

        if (count == 0)
        {
            return;
        }

        var runStarted = Stopwatch.GetTimestamp();
        try
        {
            _engine.Run(batch.Tensors, count);
        }
        catch (Exception ex)
        {
            RuntimeLog.BatchFailed(_logger, count, ex);
            for (var i = 0; i < count; i++)
            {
                batch.Live[i]!.TrySetException(ex);
            }

            return;
        }

        var runEnded = Stopwatch.GetTimestamp();
        var inferenceMs = (runEnded - runStarted) * 1000.0 / Stopwatch.Frequency;
        var padded = _engine.PaddedBatchSize(count);
        var provider = new KeyValuePair<string, object?>(InferenceTelemetry.ProviderTag, _engine.ExecutionProvider);
        InferenceTelemetry.BatchSize.Record(count, provider);
        InferenceTelemetry.RunDuration.Record(inferenceMs / 1000, provider);
        for (var i = 0; i < count; i++)
        {
            var image = batch.Live[i]!;
            if (image.Task.IsCompleted)
            {
                continue; // Cancelled during the run: the result is discarded.
            }

            try
            {
                var logits = batch.Tensors.Logits(i);
                var predictions = SoftmaxTopK.Predict(logits, image.Request.TopK, _labels);
                var queueWaitMs = (runStarted - image.ReadyAt) * 1000.0 / Stopwatch.Frequency;
                InferenceTelemetry.QueueWait.Record(queueWaitMs / 1000, provider);
                batch.Outputs[i] = new InferenceOutput(
                    predictions, image.Request.IncludeLogits ? logits.ToArray() : null, queueWaitMs, inferenceMs, count, padded, runEnded);
            }
            catch (InvalidOperationException ex)
            {
                batch.Failures[i] = ex;
            }
        }

        // Counted before any caller is answered: a caller that reads the statistics after its own result must find its
        // image in them (the load test compares them with the images it saw classified).
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _images, count);
        Interlocked.Increment(ref _batchSizeCounts[count]);
        Interlocked.Add(ref _inferenceTicks, runEnded - runStarted);
        Interlocked.Add(ref _postprocessTicks, Stopwatch.GetTimestamp() - runEnded);
        for (var i = 0; i < count; i++)
        {
            if (batch.Outputs[i] is { } result)
            {
                batch.Live[i]!.TrySetResult(result);
            }
            else if (batch.Failures[i] is { } failure)
            {
                batch.Live[i]!.TrySetException(failure);
            }
        }

        Array.Clear(batch.Outputs);
        Array.Clear(batch.Failures);
    }

    private enum SlotPhase : byte
    {
        Free,
        Writing,
        Ready,
        Abandoned,
        Cancelled,
    }

    /// <summary>A batch tensor plus the bookkeeping of its slots; reused for the batcher's lifetime.</summary>
    private sealed class Batch(TensorBatch tensors, int maxBatch) : IDisposable
    {
        public TensorBatch Tensors { get; } = tensors;
        public SlotPhase[] Phases { get; } = new SlotPhase[maxBatch];
        public PendingImage?[] Images { get; } = new PendingImage?[maxBatch];
        public PendingImage?[] Live { get; } = new PendingImage?[maxBatch];
        public InferenceOutput?[] Outputs { get; } = new InferenceOutput?[maxBatch];
        public Exception?[] Failures { get; } = new Exception?[maxBatch];
        public SemaphoreSlim Changed { get; } = new(0);
        public int Reserved { get; set; }
        public int Settled { get; set; }
        public long FirstSettledAt { get; set; }
        public bool Sealed { get; set; }
        public bool Running { get; set; }

        public void Open()
        {
            Sealed = false;
            Running = false;
        }

        public void Recycle()
        {
            Array.Clear(Phases);
            Array.Clear(Images);
            Array.Clear(Live);
            Reserved = 0;
            Settled = 0;
            FirstSettledAt = 0;
            Sealed = true;
            Running = false;
            while (Changed.Wait(0))
            {
                // Drain wake-ups meant for the previous use.
            }
        }

        public void Dispose() => Tensors.Dispose();
    }

    /// <summary>The one object per image: its completion, where it sits, and what it asked for.</summary>
    private sealed class PendingImage(InferenceBatcher owner, Batch batch, int index, InferenceRequest request)
        : TaskCompletionSource<InferenceOutput>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public Batch Batch { get; } = batch;
        public int Index { get; } = index;
        public InferenceRequest Request { get; } = request;
        public long ReadyAt { get; } = Stopwatch.GetTimestamp();

        public void Cancel(CancellationToken token) => owner.Cancel(this, token);
    }
}
