using Microsoft.Azure.Functions.Worker;
using ResNeSt.Pipeline.Redrive;

namespace ResNeSt.Functions.Triggers;

/// <summary>
/// The blob trigger's poison queue: an upload whose every attempt failed (the host retries five times, then moves the
/// event here) is recorded as failed with its reason and re-driven once the model is back (<see cref="UndeliveredBlobService"/>).
/// </summary>
public sealed class RecordUndeliveredUpload(UndeliveredBlobService undelivered)
{
    public const string Name = nameof(RecordUndeliveredUpload);

    [Function(Name)]
    public Task RunAsync(
        [QueueTrigger(BindingExpressions.BlobTriggerPoisonQueue, Connection = "ImageStorage")] string message,
        CancellationToken cancellationToken) =>
        undelivered.RecordPoisonedTriggerAsync(message, cancellationToken);
}
