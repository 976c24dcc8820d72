using System.Collections.Concurrent;
using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Cli.Worker;

/// <summary>
/// The Functions host's queue trigger for the batch queue, outside the host: the same two functions
/// (<c>ProcessBatchMessage</c> → <see cref="BatchJobService.HandleAsync"/>, <c>RecordPoisonedBatchMessage</c> →
/// <see cref="BatchJobService.RecordPoisonedAsync(string, CancellationToken)"/>) with the host's delivery rules: messages fetched BatchSize at a
/// time while at most NewBatchThreshold are in flight, kept invisible for a lease renewed every half of it, deleted on
/// success, made visible again after visibilityTimeout on failure, and moved to <c>&lt;queue&gt;-poison</c> when a
/// failed delivery was the MaxDequeueCount-th (or a message arrives already past it, after crashes).
/// </summary>
internal sealed class QueueWorker(
    PipelineStorage storage,
    QueueServiceClient queues,
    BatchJobService jobs,
    IOptions<HostQueueOptions> queueOptions,
    IOptions<WorkerOptions> workerOptions,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<QueueWorker> logger) : BackgroundService
{
    private static readonly TimeSpan s_minPollingInterval = TimeSpan.FromMilliseconds(100);
    private readonly HostQueueOptions _queue = queueOptions.Value;
    private readonly WorkerOptions _worker = workerOptions.Value;
    private readonly ILogger _logger = logger;
    private readonly TimeProvider _time = time;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var main = storage.ClassifyQueue;
        var poison = queues.GetQueueClient(main.Name + "-poison");
        var poisonOfPoison = queues.GetQueueClient(poison.Name + "-poison");
        await poison.CreateIfNotExistsAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
        WorkerLog.Listening(_logger, main.Name, _queue.BatchSize, _queue.NewBatchThreshold, _queue.MaxDequeueCount, _queue.VisibilityTimeout, _worker.Lease);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var mainListener = new Listener(this, main, poison, HandleBatchMessageAsync);
        using var poisonListener = new Listener(this, poison, poisonOfPoison, HandlePoisonedMessageAsync);
        var listening = Task.WhenAll(mainListener.RunAsync(stop.Token), poisonListener.RunAsync(stop.Token));
        if (!_worker.Drain)
        {
            await listening.ConfigureAwait(false);
            return;
        }

        try
        {
            await WaitUntilDrainedAsync([mainListener, poisonListener], stop.Token).ConfigureAwait(false);
            WorkerLog.Drained(_logger, main.Name, poison.Name);
        }
        finally
        {
            // Also when stopped while waiting: the listeners (and their invocations) end before anything they use is
            // disposed by the host.
            await stop.CancelAsync().ConfigureAwait(false);
            await listening.ConfigureAwait(false);
        }

        lifetime.StopApplication();
    }

    /// <summary><c>ProcessBatchMessage</c>: what <c>BatchQueueFunctions.RunAsync</c> does with the message body.</summary>
    private async Task HandleBatchMessageAsync(QueueMessage message, string invocationId, CancellationToken cancellationToken)
    {
        var parsed = BatchJobService.Parse(message.MessageText);
        using var delivery = ClassificationAudit.Begin(parsed.Name ?? "", message.MessageId, message.DequeueCount);
        await jobs.HandleAsync(parsed, invocationId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>RecordPoisonedBatchMessage</c>: what <c>BatchQueueFunctions.RunPoisonAsync</c> does.</summary>
    private Task HandlePoisonedMessageAsync(QueueMessage message, string invocationId, CancellationToken cancellationToken) =>
        jobs.RecordPoisonedAsync(message.MessageText, cancellationToken);

    private async Task WaitUntilDrainedAsync(Listener[] listeners, CancellationToken cancellationToken)
    {
        int emptyChecks = 0;
        while (true)
        {
            await Task.Delay(_queue.MaxPollingInterval, _time, cancellationToken).ConfigureAwait(false);
            bool idle = listeners.All(l => l.InFlight == 0);
            try
            {
                // The approximate count includes invisible messages (in flight elsewhere, or waiting for their retry).
                foreach (var listener in listeners)
                {
                    var properties = await listener.Queue.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
                    idle &= properties.Value.ApproximateMessagesCount == 0;
                }
            }
            catch (RequestFailedException)
            {
                idle = false;
            }

            // Twice in a row, so that a message received between the two looks is not missed.
            emptyChecks = idle ? emptyChecks + 1 : 0;
            if (emptyChecks == 2)
            {
                return;
            }
        }
    }

    /// <summary>One queue's receive loop and its invocations.</summary>
    private sealed class Listener(
        QueueWorker owner, QueueClient queue, QueueClient poison, Func<QueueMessage, string, CancellationToken, Task> handler) : IDisposable
    {
        private readonly SemaphoreSlim _completed = new(0);
        private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
        private int _inFlight;

        public QueueClient Queue => queue;

        public int InFlight => Volatile.Read(ref _inFlight);

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var options = owner._queue;
            var delay = s_minPollingInterval;
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    if (InFlight > options.NewBatchThreshold)
                    {
                        await _completed.WaitAsync(cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    QueueMessage[] messages;
                    try
                    {
                        messages = (await queue.ReceiveMessagesAsync(options.BatchSize, owner._worker.Lease, cancellationToken).ConfigureAwait(false)).Value;
                    }
                    catch (Exception ex) when (ex is RequestFailedException or AggregateException or IOException)
                    {
                        // Storage unreachable after the SDK's own retries: keep polling, slower.
                        delay = Next(delay, options.MaxPollingInterval);
                        WorkerLog.ReceiveFailed(owner._logger, ex, queue.Name, delay);
                        await Task.Delay(delay, owner._time, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    if (messages.Length == 0)
                    {
                        delay = Next(delay, options.MaxPollingInterval);
                        await Task.Delay(delay, owner._time, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    delay = s_minPollingInterval;
                    foreach (var message in messages)
                    {
                        Interlocked.Increment(ref _inFlight);
                        var key = message.MessageId + "/" + message.PopReceipt;

                        // Registered before it starts, so an invocation that ends at once cannot remove its entry
                        // before it was added (and leave it behind).
                        var invocation = new Task<Task>(() => ProcessAsync(message, cancellationToken));
                        var running = invocation.Unwrap();
                        _running[key] = running;
                        _ = running.ContinueWith(
                            _ =>
                            {
                                _running.TryRemove(key, out var _);
                                Interlocked.Decrement(ref _inFlight);
                                _completed.Release();
                            },
                            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                        invocation.Start(TaskScheduler.Default);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping.
            }

            await Task.WhenAll(_running.Values).ConfigureAwait(false);
        }

        public void Dispose() => _completed.Dispose();

        private static TimeSpan Next(TimeSpan delay, TimeSpan max) => delay * 2 > max ? max : delay * 2;

        private async Task ProcessAsync(QueueMessage message, CancellationToken cancellationToken)
        {
            var options = owner._queue;
            if (message.DequeueCount > options.MaxDequeueCount)
            {
                // Delivered more often than allowed without ever failing cleanly (its workers died): poison at once.
                await SettleAsync(message, message.PopReceipt, succeeded: false).ConfigureAwait(false);
                return;
            }

            var invocationId = Guid.NewGuid().ToString("N");
            await using var lease = new LeaseRenewal(owner, queue, message);
            bool succeeded = false;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(owner._worker.FunctionTimeout);
                await handler(message, invocationId, timeout.Token).ConfigureAwait(false);
                succeeded = true;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                var next = message.DequeueCount >= options.MaxDequeueCount
                    ? "moving it to the poison queue"
                    : FormattableString.Invariant($"retrying after {options.VisibilityTimeout}");
                WorkerLog.InvocationFailed(owner._logger, ex, invocationId, message.MessageId, message.DequeueCount, next);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                // Shutting down mid-invocation: the message reappears when its lease ends.
                return;
            }

            var popReceipt = await lease.StopAsync().ConfigureAwait(false);
            if (popReceipt is not null)
            {
                await SettleAsync(message, popReceipt, succeeded).ConfigureAwait(false);
            }
        }

        /// <summary>Deletes, releases for a retry, or poisons the message. Runs to completion even while stopping.</summary>
        private async Task SettleAsync(QueueMessage message, string popReceipt, bool succeeded)
        {
            var options = owner._queue;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                if (succeeded)
                {
                    await queue.DeleteMessageAsync(message.MessageId, popReceipt, timeout.Token).ConfigureAwait(false);
                }
                else if (message.DequeueCount >= options.MaxDequeueCount)
                {
                    await poison.CreateIfNotExistsAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
                    await poison.SendMessageAsync(message.MessageText, timeout.Token).ConfigureAwait(false);
                    await queue.DeleteMessageAsync(message.MessageId, popReceipt, timeout.Token).ConfigureAwait(false);
                    WorkerLog.Poisoned(owner._logger, message.MessageId, poison.Name, message.DequeueCount);
                }
                else
                {
                    await queue.UpdateMessageAsync(message.MessageId, popReceipt, visibilityTimeout: options.VisibilityTimeout, cancellationToken: timeout.Token)
                        .ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is RequestFailedException or AggregateException or IOException or OperationCanceledException)
            {
                WorkerLog.SettleFailed(owner._logger, ex, message.MessageId);
            }
        }
    }

    /// <summary>Keeps one received message invisible while its invocation runs: renews the lease every half of it.</summary>
    private sealed class LeaseRenewal : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private string? _popReceipt;

        public LeaseRenewal(QueueWorker owner, QueueClient queue, QueueMessage message)
        {
            _popReceipt = message.PopReceipt;
            _loop = RenewAsync(owner, queue, message.MessageId, owner._worker.Lease);
        }

        private async Task RenewAsync(QueueWorker owner, QueueClient queue, string messageId, TimeSpan lease)
        {
            while (true)
            {
                try
                {
                    await Task.Delay(lease / 2, owner._time, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                try
                {
                    // Not cancelled by StopAsync: a renewal that reached the server must also update the pop receipt here.
                    var renewed = await queue.UpdateMessageAsync(messageId, _popReceipt, visibilityTimeout: lease).ConfigureAwait(false);
                    _popReceipt = renewed.Value.PopReceipt;
                }
                catch (RequestFailedException ex) when (ex.Status is 400 or 404)
                {
                    WorkerLog.LeaseLost(owner._logger, messageId, ex.Status);
                    _popReceipt = null;
                    return;
                }
                catch (Exception ex) when (ex is RequestFailedException or AggregateException or IOException)
                {
                    // Transient: try again at the next half lease, which is still within the current one.
                }
            }
        }

        /// <summary>Stops renewing; returns the current pop receipt, or null when the lease was lost.</summary>
        public async Task<string?> StopAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            return _popReceipt;
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync().ConfigureAwait(false);
            _stop.Dispose();
        }
    }
}
