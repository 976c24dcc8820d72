using Microsoft.Azure.Functions.Worker;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Triggers;

/// <summary>
/// The batch tagging queue: <c>enumerate</c> messages list a page of the job's prefix and fan out, <c>classify</c>
/// messages classify one blob. A thrown exception makes the message visible again (host.json: visibilityTimeout,
/// maxDequeueCount) until it lands in the poison queue, whose trigger counts the blob as failed in its job.
/// </summary>
public sealed class BatchQueueFunctions(BatchJobService jobs)
{
    public const string ClassifyName = "ProcessBatchMessage";
    public const string PoisonName = "RecordPoisonedBatchMessage";

    [Function(ClassifyName)]
    public async Task RunAsync(
        [QueueTrigger("%Pipeline__ClassifyQueue%", Connection = "ImageStorage")] string message,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        await jobs.HandleAsync(BatchJobService.Parse(message), context.InvocationId, cancellationToken).ConfigureAwait(false);
    }

    [Function(PoisonName)]
    public Task RunPoisonAsync(
        [QueueTrigger("%Pipeline__ClassifyQueue%-poison", Connection = "ImageStorage")] string message,
        CancellationToken cancellationToken) =>
        jobs.RecordPoisonedAsync(message, cancellationToken);
}
