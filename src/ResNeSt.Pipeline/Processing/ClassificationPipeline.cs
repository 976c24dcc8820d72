using System.Diagnostics;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Tagging;

namespace ResNeSt.Pipeline.Processing;

/// <summary>
/// The blob → result flow shared by the blob trigger, the batch queue trigger and the CLI: properties first (size and
/// ETag, nothing read yet), then a claim on the result row (<see cref="ResultClaims"/>: "already done for this ETag?",
/// concurrent duplicates), the version downloaded and classified into its result row (<see cref="VersionClassifier"/>),
/// the row stored under the claim, and the blob tags (<see cref="BlobTagger"/>).
/// Bad images end as failed results (the method returns); storage and engine faults are thrown for the host to retry.
/// </summary>
public sealed class ClassificationPipeline(
    ModelRuntime model,
    ResultClaims claims,
    VersionClassifier versions,
    BlobTagger tagger,
    IOptions<PipelineOptions> options,
    PipelineTelemetry telemetry,
    ILogger<ClassificationPipeline> logger)
{
    private readonly PipelineOptions _options = options.Value;
    private readonly SharedWork<ProcessingOutcome> _inFlight = new();

    /// <summary>Classifies the current version of <paramref name="blob"/> unless it is already done.</summary>
    public async Task<ProcessingOutcome> ProcessAsync(BlobClient blob, string invocationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var name = LogSanitizer.Clean(blob.Name);
        using var activity = PipelineTelemetry.StartProcess(blob.BlobContainerName, name, invocationId);
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

    private async Task<ProcessingOutcome> ProcessCoreAsync(BlobClient blob, string invocationId, Activity? activity, CancellationToken cancellationToken)
    {
        var blobRef = new BlobRef(blob.BlobContainerName, blob.Name);
        if (!string.Equals(blob.BlobContainerName, _options.ImagesContainer, StringComparison.Ordinal))
        {
            PipelineLog.WrongContainer(logger, LogSanitizer.Clean(blob.BlobContainerName), _options.ImagesContainer);
            return ProcessingOutcome.Skipped(blobRef, SkipReasons.WrongContainer);
        }

        if (await ImageDownloader.TryGetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false) is not { } properties)
        {
            PipelineLog.SkippedDeleted(logger);
            return ProcessingOutcome.Skipped(blobRef, SkipReasons.Deleted);
        }

        blobRef = blobRef.WithETag(properties.ETag.ToString());
        activity?.SetTag(PipelineTelemetry.ETagTag, blobRef.ETag);
        activity?.SetTag(PipelineTelemetry.SizeTag, properties.ContentLength);
        using var etagScope = PipelineLogScopes.ETag(logger, blobRef.ETag!);
        var (outcome, joined) = await _inFlight.RunAsync(
            blobRef.ToString(),
            () => ProcessVersionAsync(blob, blobRef, properties, invocationId, cancellationToken),
            () => PipelineLog.JoinedInFlight(logger),
            cancellationToken).ConfigureAwait(false);
        return joined ? ProcessingOutcome.Skipped(blobRef, SkipReasons.DuplicateInFlight, outcome.Result) : outcome;
    }

    private async Task<ProcessingOutcome> ProcessVersionAsync(
        BlobClient blob, BlobRef blobRef, BlobProperties properties, string invocationId, CancellationToken cancellationToken)
    {
        var etag = blobRef.ETag!;
        var claimId = string.IsNullOrEmpty(invocationId) ? Guid.NewGuid().ToString("N") : invocationId;

        // The model first: without one the invocation fails retriably (ModelUnavailableException) before it writes
        // anything, so a missing or broken model never leaves a claim, a placeholder row or a failed result behind.
        var classifier = await model.GetClassifierAsync(cancellationToken).ConfigureAwait(false);
        var claim = await claims.ClaimAsync(blobRef, properties.LastModified, claimId, _options.ClaimTimeout, cancellationToken).ConfigureAwait(false);
        switch (claim.Status)
        {
            case ClaimStatus.AlreadyDone:
                // A delivery killed after storing the result may have left the tags undone (the claim repaired the index).
                PipelineLog.SkippedAlreadyDone(logger, claim.Entity.Status);
                await tagger.RepairAsync(blob, etag, properties.TagCount, claim.Entity, cancellationToken).ConfigureAwait(false);
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
            var (result, skipped) = await versions.ClassifyAsync(classifier, blob, blobRef, properties, invocationId, cancellationToken).ConfigureAwait(false);
            if (result is null)
            {
                await claims.ReleaseAsync(claim.Entity, cancellationToken).ConfigureAwait(false);
                return ProcessingOutcome.Skipped(blobRef, skipped!);
            }

            using (var store = telemetry.StartStage(PipelineTelemetry.StoreActivity, PipelineTelemetry.Stages.Store))
            {
                if (await claims.StoreAsync(claim, result, properties.LastModified, _options.ClaimTimeout, cancellationToken).ConfigureAwait(false) is { } overtaken)
                {
                    return ProcessingOutcome.Overtaken(blobRef, overtaken);
                }

                store.Complete();
            }

            if (tagger.Applies(result))
            {
                using var tag = telemetry.StartStage(PipelineTelemetry.TagActivity, PipelineTelemetry.Stages.Tag);
                await tagger.TagAsync(blob, etag, (int)properties.TagCount, result, cancellationToken).ConfigureAwait(false);
                tag.Complete();
            }

            return ProcessingOutcome.Stored(blobRef, result);
        }
        catch (Exception ex)
        {
            PipelineLog.TransientFailure(logger, ex);
            await claims.ReleaseAfterFailureAsync(claim.Entity).ConfigureAwait(false);
            throw;
        }
    }
}
