using Microsoft.Extensions.Logging;

namespace ResNeSt.Pipeline.Diagnostics;

/// <summary>
/// Every log line of the pipeline. The lines about one image (1000–1101) are logged inside its scopes
/// (<see cref="PipelineLogScopes"/>: blob, invocation id, ETag), so their own text and properties do not repeat those;
/// the other lines name what they are about, blob names passed through <see cref="LogSanitizer.Clean"/> by the caller.
/// </summary>
internal static partial class PipelineLog
{
    [LoggerMessage(1000, LogLevel.Information, "Classified as {Label} p={Probability:0.000} in {TotalMs:0.0} ms (download {DownloadMs:0.0} ms, batch of {BatchSize})")]
    public static partial void Classified(ILogger logger, string label, float probability, double totalMs, double downloadMs, int batchSize);

    /// <summary><paramref name="reason"/> is a whole sentence, full stop included.</summary>
    [LoggerMessage(1001, LogLevel.Warning, "Rejected ({Code}): {Reason} Recorded as failed; not retried.")]
    public static partial void Rejected(ILogger logger, string code, string reason);

    [LoggerMessage(1002, LogLevel.Information, "Skipped: the blob was deleted before it could be processed.")]
    public static partial void SkippedDeleted(ILogger logger);

    [LoggerMessage(1003, LogLevel.Information, "Skipped: already classified ({Status}).")]
    public static partial void SkippedAlreadyDone(ILogger logger, string status);

    [LoggerMessage(1004, LogLevel.Information, "Skipped: a newer version is already classified.")]
    public static partial void SkippedSuperseded(ILogger logger);

    [LoggerMessage(1005, LogLevel.Information, "Skipped: the blob changed while it was read; the newer version's event classifies it.")]
    public static partial void SkippedChanged(ILogger logger);

    [LoggerMessage(1006, LogLevel.Information, "Duplicate delivery joined the invocation already classifying this version.")]
    public static partial void JoinedInFlight(ILogger logger);

    [LoggerMessage(1007, LogLevel.Warning, "Being classified by invocation {Owner}; failing this delivery so that it is retried later.")]
    public static partial void HeldElsewhere(ILogger logger, string owner);

    [LoggerMessage(1008, LogLevel.Warning, "The result row changed while the result was stored; deciding again.")]
    public static partial void ClaimLost(ILogger logger);

    [LoggerMessage(1009, LogLevel.Error, "Transient failure while classifying; the host will retry.")]
    public static partial void TransientFailure(ILogger logger, Exception exception);

    [LoggerMessage(1010, LogLevel.Warning, "Ignored: the blob is in container {BlobContainer}; only blobs of container {Container} are classified.")]
    public static partial void WrongContainer(ILogger logger, string blobContainer, string container);

    [LoggerMessage(1100, LogLevel.Information, "Not tagged: the blob already has {Count} tags of its own and Azure allows 10.")]
    public static partial void TagsSkippedTooMany(ILogger logger, int count);

    [LoggerMessage(1101, LogLevel.Information, "Not tagged: the blob changed or was deleted (HTTP {Status}).")]
    public static partial void TagsSkippedBlobChanged(ILogger logger, int status);

    [LoggerMessage(1200, LogLevel.Information, "Model {Path} resolved from {Source}, SHA-256 {Sha256}.")]
    public static partial void ModelResolvedCore(ILogger logger, string path, string source, string sha256);

    public static void ModelResolved(ILogger logger, string path, string sha256, string source) => ModelResolvedCore(logger, path, source, sha256);

    [LoggerMessage(1201, LogLevel.Information, "Model {Variant} loaded (SHA-256 {Sha256}, crop {Crop}, provider {Provider}).")]
    public static partial void ModelLoaded(ILogger logger, string variant, string sha256, int crop, string provider);

    [LoggerMessage(1202, LogLevel.Information, "Model warmed up in {ElapsedMs:0} ms; ready.")]
    public static partial void ModelWarmedUp(ILogger logger, double elapsedMs);

    [LoggerMessage(1203, LogLevel.Critical, "Model warm-up failed; invocations will retry loading it.")]
    public static partial void WarmUpFailed(ILogger logger, Exception exception);

    [LoggerMessage(1204, LogLevel.Error, "Model load failed; invocations fail retriably until a good model is in place.")]
    public static partial void ModelLoadFailed(ILogger logger, Exception exception);

    [LoggerMessage(1300, LogLevel.Warning, "Could not create storage resource {Resource} ({Error}); expecting the deployment to have created it.")]
    public static partial void StorageResourceNotCreated(ILogger logger, string resource, string error);

    [LoggerMessage(1400, LogLevel.Information, "Batch job {JobId} started over {Container}/{Prefix}.")]
    public static partial void BatchStarted(ILogger logger, string jobId, string container, string prefix);

    [LoggerMessage(1401, LogLevel.Information, "Batch job {JobId}: page {Page} enqueued {Count} blobs{More}.")]
    public static partial void BatchPageEnqueued(ILogger logger, string jobId, int page, int count, string more);

    [LoggerMessage(1402, LogLevel.Warning, "Batch message for unknown job {JobId} ignored.")]
    public static partial void BatchUnknownJob(ILogger logger, string jobId);

    [LoggerMessage(1403, LogLevel.Error, "Poisoned batch message for job {JobId}, blob {Blob}: recorded as failed after the host gave up retrying.")]
    public static partial void BatchPoisoned(ILogger logger, string jobId, string blob);

    [LoggerMessage(1404, LogLevel.Warning, "Batch message for job {JobId} names an invalid blob {Blob}: recorded as failed, not classified.")]
    public static partial void BatchInvalidName(ILogger logger, string jobId, string blob);
}
