using Microsoft.Extensions.Logging;

namespace ResNeSt.Cli.Worker;

internal static partial class WorkerLog
{
    [LoggerMessage(2000, LogLevel.Information, "Worker listening on {Queue} (batch {BatchSize}, new batch at {Threshold}, poison after {MaxDequeueCount} deliveries, retry delay {RetryDelay}, lease {Lease}).")]
    public static partial void Listening(ILogger logger, string queue, int batchSize, int threshold, int maxDequeueCount, TimeSpan retryDelay, TimeSpan lease);

    [LoggerMessage(2001, LogLevel.Warning, "Invocation {InvocationId} of message {MessageId} (delivery {DequeueCount}) failed; {Next}.")]
    public static partial void InvocationFailed(ILogger logger, Exception exception, string invocationId, string messageId, long dequeueCount, string next);

    [LoggerMessage(2002, LogLevel.Error, "Message {MessageId} moved to {PoisonQueue} after {DequeueCount} deliveries.")]
    public static partial void Poisoned(ILogger logger, string messageId, string poisonQueue, long dequeueCount);

    [LoggerMessage(2003, LogLevel.Warning, "Receiving from {Queue} failed; polling again in {Delay}.")]
    public static partial void ReceiveFailed(ILogger logger, Exception exception, string queue, TimeSpan delay);

    [LoggerMessage(2004, LogLevel.Warning, "Message {MessageId} could not be settled after its invocation; it reappears when its lease ends.")]
    public static partial void SettleFailed(ILogger logger, Exception exception, string messageId);

    [LoggerMessage(2005, LogLevel.Warning, "The lease of message {MessageId} was lost (HTTP {Status}); it may be delivered again.")]
    public static partial void LeaseLost(ILogger logger, string messageId, int status);

    [LoggerMessage(2006, LogLevel.Information, "Queues {Queue} and {PoisonQueue} are empty and nothing is in flight; stopping (--drain).")]
    public static partial void Drained(ILogger logger, string queue, string poisonQueue);
}
