using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.Models;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Tagging;

namespace ResNeSt.Pipeline.Processing;

/// <summary>
/// The blob → result flow shared by the blob trigger, the batch queue trigger and the CLI: properties first (size and
/// ETag, nothing read yet), then a claim on the result row (<see cref="ResultClaims"/>: "already done for this ETag?",
/// concurrent duplicates), a bounded download pinned to that ETag, the shared classifier, the result and the blob tags.
/// Bad images end as failed results (the method returns); storage and engine faults are thrown for the host to retry.
/// </summary>
public sealed class ClassificationPipeline(
    ModelRuntime model,
    ResultClaims claims,
    LabelIndex index,
    BlobTagger tagger,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    PipelineTelemetry telemetry,
    ILogger<ClassificationPipeline> logger)
{
    private readonly PipelineOptions _options = options.Value;

    // Duplicate deliveries of one blob version to this process share one piece of work.
    private readonly ConcurrentDictionary<string, Lazy<Task<ProcessingOutcome>>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Classifies the current version of <paramref name="blob"/> unless it is already done.</summary>
    public async Task<ProcessingOutcome> ProcessAsync(BlobClient blob, string invocationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var name = LogSanitizer.Clean(blob.Name);
        using var activity = PipelineTelemetry.ActivitySource.StartActivity(PipelineTelemetry.ProcessActivity);
        activity?.SetTag(PipelineTelemetry.ContainerTag, blob.BlobContainerName);
        activity?.SetTag(PipelineTelemetry.BlobTag, name);
        activity?.SetTag(PipelineTelemetry.InvocationTag, invocationId);
        using var scope = PipelineLogScopes.Blob(logger, name, invocationId);
        try
        {
            var outcome = await ProcessCoreAsync(blob, invocationId, activity, cancellationToken).ConfigureAwait(false);
            telemetry.Record(outcome, activity);
            return outcome;
        }
        catch (Exception ex)
        {
            telemetry.Record(ex, activity);
            throw;
        }
    }

    /// <summary>
    /// Records that every delivery of the current version of <paramref name="blob"/> failed for a reason that is not
    /// the image's (<see cref="Redrive.UndeliveredReasons"/>), so that a query answers "failed, and why" instead of
    /// nothing. Returns false when there is nothing to record: the blob is gone, or this version already has a final
    /// result, or a newer one, or a live invocation is classifying it right now.
    /// </summary>
    public async Task<bool> RecordUndeliveredAsync(BlobClient blob, string errorCode, string errorMessage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (await TryGetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false) is not { } properties)
        {
            return false;
        }

        var blobRef = new BlobRef(blob.BlobContainerName, blob.Name).WithETag(properties.ETag.ToString());
        var claim = await claims.ClaimAsync(
            blobRef, properties.LastModified, "undelivered-" + Guid.NewGuid().ToString("N"), _options.ClaimTimeout, cancellationToken)
            .ConfigureAwait(false);
        if (claim.Status != ClaimStatus.Claimed)
        {
            return false;
        }

        var failed = ResultMapping.Failed(NewResult(blobRef, properties), errorCode, errorMessage);
        return await claims.CompleteAsync(claim.Entity, failed, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ProcessingOutcome> ProcessCoreAsync(BlobClient blob, string invocationId, Activity? activity, CancellationToken cancellationToken)
    {
        var blobRef = new BlobRef(blob.BlobContainerName, blob.Name);
        if (!string.Equals(blob.BlobContainerName, _options.ImagesContainer, StringComparison.Ordinal))
        {
            PipelineLog.WrongContainer(logger, LogSanitizer.Clean(blob.BlobContainerName), _options.ImagesContainer);
            return ProcessingOutcome.Skipped(blobRef, SkipReasons.WrongContainer);
        }

        if (await TryGetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false) is not { } properties)
        {
            PipelineLog.SkippedDeleted(logger);
            return ProcessingOutcome.Skipped(blobRef, SkipReasons.Deleted);
        }

        blobRef = blobRef.WithETag(properties.ETag.ToString());
        activity?.SetTag(PipelineTelemetry.ETagTag, blobRef.ETag);
        activity?.SetTag(PipelineTelemetry.SizeTag, properties.ContentLength);
        using var etagScope = PipelineLogScopes.ETag(logger, blobRef.ETag!);
        var key = blobRef.ToString();
        var work = new Lazy<Task<ProcessingOutcome>>(
            () => ProcessVersionAsync(blob, blobRef, properties, invocationId, cancellationToken),
            LazyThreadSafetyMode.ExecutionAndPublication);
        var current = _inFlight.GetOrAdd(key, work);
        if (!ReferenceEquals(current, work))
        {
            PipelineLog.JoinedInFlight(logger);
            var shared = await current.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            return ProcessingOutcome.Skipped(blobRef, SkipReasons.DuplicateInFlight, shared.Result);
        }

        try
        {
            return await work.Value.ConfigureAwait(false);
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<ProcessingOutcome>>>(key, work));
        }
    }

    private async Task<ProcessingOutcome> ProcessVersionAsync(
        BlobClient blob, BlobRef blobRef, BlobProperties properties, string invocationId, CancellationToken cancellationToken)
    {
        var etag = blobRef.ETag!;
        var claimId = string.IsNullOrEmpty(invocationId) ? Guid.NewGuid().ToString("N") : invocationId;

        // The model first: without one the invocation fails retriably (ModelUnavailableException) before it writes
        // anything, so a missing or broken model never leaves a claim, a placeholder row or a failed result behind.
        var classifier = await model.GetClassifierAsync(cancellationToken).ConfigureAwait(false);
        var claim = await claims.ClaimAsync(blobRef, properties.LastModified, claimId, _options.ClaimTimeout, cancellationToken)
            .ConfigureAwait(false);
        switch (claim.Status)
        {
            case ClaimStatus.AlreadyDone:
                PipelineLog.SkippedAlreadyDone(logger, claim.Entity.Status);
                await RepairAsync(blob, etag, properties, claim.Entity, cancellationToken).ConfigureAwait(false);
                return ProcessingOutcome.Skipped(blobRef, SkipReasons.AlreadyClassified, claim.Entity);
            case ClaimStatus.Superseded:
                PipelineLog.SkippedSuperseded(logger);
                return ProcessingOutcome.Skipped(blobRef, SkipReasons.Superseded, claim.Entity);
            case ClaimStatus.HeldElsewhere:
                PipelineLog.HeldElsewhere(logger, claim.Entity.ClaimId ?? "?");
                throw new BlobBusyException($"{blobRef} is being classified by invocation {claim.Entity.ClaimId}.");
        }

        try
        {
            var result = await ClassifyAsync(classifier, blob, blobRef, properties, cancellationToken).ConfigureAwait(false);
            if (result.Entity is null)
            {
                await claims.ReleaseAsync(claim.Entity, cancellationToken).ConfigureAwait(false);
                return ProcessingOutcome.Skipped(blobRef, result.SkipReason!);
            }

            using (var store = telemetry.StartStage(PipelineTelemetry.StoreActivity, PipelineTelemetry.Stages.Store))
            {
                var overtaken = await claims.StoreAsync(claim, result.Entity, properties.LastModified, _options.ClaimTimeout, cancellationToken)
                    .ConfigureAwait(false);
                if (overtaken is not null)
                {
                    var reason = overtaken.Status == ClaimStatus.Superseded ? SkipReasons.Superseded : SkipReasons.AlreadyClassified;
                    return ProcessingOutcome.Skipped(blobRef, reason, overtaken.Entity);
                }

                store.Complete();
            }

            if (result.Entity.Status == ResultStatus.Succeeded && _options.TaggingEnabled)
            {
                using var tag = telemetry.StartStage(PipelineTelemetry.TagActivity, PipelineTelemetry.Stages.Tag);
                await tagger.TagAsync(blob, etag, (int)properties.TagCount, result.Entity, cancellationToken).ConfigureAwait(false);
                tag.Complete();
            }

            return result.Entity.Status == ResultStatus.Succeeded
                ? new ProcessingOutcome(blobRef, OutcomeKind.Succeeded, null, result.Entity)
                : new ProcessingOutcome(blobRef, OutcomeKind.Failed, result.Entity.ErrorCode, result.Entity);
        }
        catch (Exception ex)
        {
            PipelineLog.TransientFailure(logger, ex);
            try
            {
                // Best effort, even when cancelled: a held claim would make the retry wait for it to expire.
                using var release = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await claims.ReleaseAsync(claim.Entity, release.Token).ConfigureAwait(false);
            }
            catch (Exception releaseError) when (releaseError is RequestFailedException or OperationCanceledException)
            {
                // The claim expires on its own after ClaimTimeout.
            }

            throw;
        }
    }

    /// <summary>What a delivery killed after storing the result may have left undone: the index row, then the tags.</summary>
    private async Task RepairAsync(BlobClient blob, string etag, BlobProperties properties, ResultEntity done, CancellationToken cancellationToken)
    {
        await index.RepairAsync(done, cancellationToken).ConfigureAwait(false);
        if (_options.TaggingEnabled && done.Status == ResultStatus.Succeeded && properties.TagCount == 0)
        {
            // Tags never change the ETag, so an untagged blob with a result was cut off before tagging.
            await tagger.TagAsync(blob, etag, 0, done, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed record ClassifyResult(ResultEntity? Entity, string? SkipReason);

    /// <summary>Downloads and classifies the claimed version: a succeeded or failed result, or a skip when the blob changed or vanished.</summary>
    private async Task<ClassifyResult> ClassifyAsync(
        IImageClassifier classifier, BlobClient blob, BlobRef blobRef, BlobProperties properties, CancellationToken cancellationToken)
    {
        var etag = blobRef.ETag!;
        var started = Stopwatch.GetTimestamp();
        long length = properties.ContentLength;
        if (length == 0)
        {
            return Rejected(new ImageRejectedException(ImageRejectionReason.Empty, "The blob is empty."));
        }

        if (length > _options.MaxImageBytes)
        {
            // Decided from the properties: not one byte of an oversized blob is downloaded.
            return Rejected(new ImageRejectedException(
                ImageRejectionReason.TooLarge, $"The blob has {length} bytes; the limit is {_options.MaxImageBytes}."));
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            int received;
            // Ended before classifying: the classification is not part of the download.
            using (var download = telemetry.StartStage(PipelineTelemetry.DownloadActivity, PipelineTelemetry.Stages.Download))
            {
                try
                {
                    received = await PinnedDownload.ReadAsync(blob, etag, buffer.AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
                    download.Complete();
                    download.SetTag(PipelineTelemetry.SizeTag, received);
                }
                catch (RequestFailedException ex) when (ex.Status is 404 or 412 or 416)
                {
                    if (ex.Status == 404)
                    {
                        PipelineLog.SkippedDeleted(logger);
                        return new ClassifyResult(null, SkipReasons.Deleted);
                    }

                    PipelineLog.SkippedChanged(logger);
                    return new ClassifyResult(null, SkipReasons.Changed);
                }
            }

            double downloadMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Classification classification;
            try
            {
                classification = await classifier.ClassifyAsync(buffer.AsMemory(0, received), cancellationToken).ConfigureAwait(false);
            }
            catch (ImageRejectedException rejected)
            {
                return Rejected(rejected, downloadMs);
            }

            telemetry.Stage(PipelineTelemetry.Stages.DecodePreprocess, classification.Timings.DecodeAndPreprocessMs);
            telemetry.Stage(PipelineTelemetry.Stages.Inference, classification.Timings.InferenceMs);
            var top1 = classification.Top1;
            PipelineLog.Classified(logger, top1.Label, top1.Probability,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, downloadMs, classification.Timings.BatchSize);
            return new ClassifyResult(ResultMapping.Succeeded(NewResult(blobRef, properties), classification, model.Model?.Sha256, downloadMs), null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        ClassifyResult Rejected(ImageRejectedException rejected, double? downloadMs = null)
        {
            PipelineLog.Rejected(logger, rejected.Code, rejected.Message);
            var failed = ResultMapping.Failed(
                NewResult(blobRef, properties), rejected.Code, rejected.Message, downloadMs, model.Classifier?.Model.Variant, model.Model?.Sha256);
            return new ClassifyResult(failed, null);
        }
    }

    private ResultEntity NewResult(BlobRef blobRef, BlobProperties properties) =>
        ResultMapping.ForVersion(blobRef, properties.LastModified, properties.ContentLength, time.GetUtcNow());

    private static async Task<BlobProperties?> TryGetPropertiesAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            return (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }
}
