using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using ResNeSt.Pipeline.Processing;

namespace ResNeSt.Functions.Triggers;

/// <summary>
/// Blob created in the images container (delivered by Event Grid, not by polling) → classification. The binding is a
/// <see cref="BlobClient"/>, not a stream, so the pipeline checks size and ETag before reading a byte.
/// Bad images return normally (recorded as failed); storage and engine faults throw, and the Functions host retries
/// them: the blob webhook has already answered Event Grid 202 (Event Grid redelivers only what the webhook refused),
/// so the host's blob trigger runs the function up to 5 times, then parks the blob in webjobs-blobtrigger-poison.
/// </summary>
public sealed class ClassifyUploadedImage(ClassificationPipeline pipeline)
{
    public const string Name = nameof(ClassifyUploadedImage);

    [Function(Name)]
    public async Task RunAsync(
        [BlobTrigger(BindingExpressions.ImagesContainer + "/{name}", Source = BlobTriggerSource.EventGrid, Connection = "ImageStorage")] BlobClient blob,
        FunctionContext context,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        await pipeline.ProcessAsync(blob, context.InvocationId, cancellationToken).ConfigureAwait(false);
    }
}
