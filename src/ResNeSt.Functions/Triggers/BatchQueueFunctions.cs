using Microsoft.Azure.Functions.Worker;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Redrive;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Triggers;

/// <summary>
/// The classify queue: <c>enumerate</c> messages list a page of a batch job's prefix and fan out, <c>classify</c>
/// messages classify one blob of a job, <c>redrive</c> messages classify again an upload the host gave up on. A thrown
/// exception makes the message visible again (host.json: visibilityTimeout, maxDequeueCount) until it lands in the
/// poison queue, whose trigger counts the blob as failed in its job.
/// </summary>
public sealed class BatchQueueFunctions(BatchJobService jobs, UndeliveredBlobService undelivered)
{
    public const string ClassifyName = "ProcessBatchMessage";
    public const string PoisonName = "RecordPoisonedBatchMessage";

    [Function(ClassifyName)]
    public async Task RunAsync(
        [QueueTrigger(BindingExpressions.ClassifyQueue, Connection = "ImageStorage")] string message,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var parsed = BatchJobService.Parse(message);
        if (parsed.Kind == BatchMessage.RedriveKind)
        {
            await undelivered.RedriveAsync(parsed, context.InvocationId, cancellationToken).ConfigureAwait(false);
            return;
        }

        await jobs.HandleAsync(parsed, context.InvocationId, cancellationToken).ConfigureAwait(false);
    }

    [Function(PoisonName)]
    public Task RunPoisonAsync(
        [QueueTrigger(BindingExpressions.ClassifyPoisonQueue, Connection = "ImageStorage")] string message,
        CancellationToken cancellationToken) =>
        jobs.RecordPoisonedAsync(message, cancellationToken);
}
