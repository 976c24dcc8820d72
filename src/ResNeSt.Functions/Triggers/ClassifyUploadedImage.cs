using Azure.Storage.Blobs;
using Microsoft.Azure.Functions.Worker;
using ResNeSt.Pipeline.Processing;

namespace ResNeSt.Functions.Triggers;

/// <summary>
/// Blob created in the images container (delivered by Event Grid, not by polling) → classification. The binding is a
/// <see cref="BlobClient"/>, not a stream, so the pipeline checks size and ETag before reading a byte.
/// Bad images return normally (recorded as failed); storage and engine faults throw, so Event Grid redelivers.
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
