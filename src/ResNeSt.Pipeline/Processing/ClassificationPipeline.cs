using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.Models;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Tagging;

namespace ResNeSt.Pipeline.Processing;

/// <summary>
/// The blob → result flow shared by the blob trigger, the batch queue trigger and the CLI: properties first (size and
/// ETag, nothing read yet), then "already done for this ETag?", a claim against concurrent duplicates, a bounded
/// download pinned to that ETag, the shared classifier, the result store and the blob tags.
/// Bad images end as failed results (the method returns); storage and engine faults are thrown for the host to retry.
/// </summary>
public sealed class ClassificationPipeline
{
    private readonly ModelRuntime _model;
    private readonly ResultStore _results;
    private readonly BlobTagger _tagger;
    private readonly PipelineOptions _options;
    private readonly TimeProvider _time;
    private readonly PipelineTelemetry _telemetry;
    private readonly ILogger<ClassificationPipeline> _logger;

    // Duplicate deliveries of one blob version to this process share one piece of work.
    private readonly ConcurrentDictionary<string, Lazy<Task<ProcessingOutcome>>> _inFlight = new(StringComparer.Ordinal);

    public ClassificationPipeline(
        ModelRuntime model,
        ResultStore results,
        BlobTagger tagger,
        IOptions<PipelineOptions> options,
        TimeProvider time,
        PipelineTelemetry telemetry,
        ILogger<ClassificationPipeline> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _model = model;
        _results = results;
        _tagger = tagger;
        _options = options.Value;
        _time = time;
        _telemetry = telemetry;
        _logger = logger;
    }

    /// <summary>Classifies the current version of <paramref name="blob"/> unless it is already done.</summary>
    public async Task<ProcessingOutcome> ProcessAsync(BlobClient blob, string invocationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var name = LogSanitizer.Clean(blob.Name);
        using var activity = PipelineTelemetry.ActivitySource.StartActivity(PipelineTelemetry.ProcessActivity);
        activity?.SetTag(PipelineTelemetry.ContainerTag, blob.BlobContainerName);
        activity?.SetTag(PipelineTelemetry.BlobTag, name);
        activity?.SetTag(PipelineTelemetry.InvocationTag, invocationId);
        using var scope = PipelineLogScopes.Blob(_logger, name, invocationId);
        try
        {
            var outcome = await ProcessCoreAsync(blob, name, invocationId, activity, cancellationToken).ConfigureAwait(false);
            var reason = outcome.Detail ?? "";
            switch (outcome.Kind)
            {
                case OutcomeKind.Succeeded:
                    _telemetry.Succeeded();
                    break;
                case OutcomeKind.Failed:
                    _telemetry.Failed(reason);
                    break;
                default:
                    _telemetry.Skipped(reason);
                    break;
            }

            activity?.SetTag(PipelineTelemetry.OutcomeTag, outcome.Kind.ToString().ToLowerInvariant());
            activity?.SetTag(PipelineTelemetry.ReasonTag, outcome.Detail);
            return outcome;
        }
        catch (Exception ex)
        {
            var cancelled = ex is OperationCanceledException;
            _telemetry.Failed(cancelled ? "cancelled" : "error", ex.GetType().FullName);
            activity?.SetTag(PipelineTelemetry.OutcomeTag, "error");
            activity?.SetTag(PipelineTelemetry.ErrorTypeTag, ex.GetType().FullName);
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
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
        BlobProperties properties;
        try
        {
            properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }

        var blobRef = new BlobRef(blob.BlobContainerName, blob.Name).WithETag(properties.ETag.ToString());
        var claim = await _results.ClaimAsync(
            blobRef, properties.LastModified, "undelivered-" + Guid.NewGuid().ToString("N"), _options.ClaimTimeout, cancellationToken)
            .ConfigureAwait(false);
        if (claim.Status != ClaimStatus.Claimed)
        {
            return false;
        }

        var failed = new ResultEntity
        {
            Container = blobRef.Container,
            BlobName = blobRef.Name,
            Status = ResultStatus.Failed,
            BlobETag = blobRef.ETag,
            BlobLastModified = properties.LastModified,
            ContentLength = properties.ContentLength,
            ProcessedAt = _time.GetUtcNow(),
            ErrorCode = errorCode,
            ErrorMessage = errorMessage,
        };
        return await _results.CompleteAsync(claim.Entity, failed, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ProcessingOutcome> ProcessCoreAsync(BlobClient blob, string name, string invocationId, Activity? activity, CancellationToken cancellationToken)
    {
        var blobRef = new BlobRef(blob.BlobContainerName, blob.Name);
        if (!string.Equals(blob.BlobContainerName, _options.ImagesContainer, StringComparison.Ordinal))
        {
            PipelineLog.WrongContainer(_logger, LogSanitizer.Clean(blobRef.Path), _options.ImagesContainer);
            return ProcessingOutcome.Skipped(blobRef, SkipReasons.WrongContainer);
        }

        BlobProperties properties;
        try
        {
            properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            PipelineLog.SkippedDeleted(_logger, name, invocationId);
            return ProcessingOutcome.Skipped(blobRef, SkipReasons.Deleted);
        }

        blobRef = blobRef.WithETag(properties.ETag.ToString());
        activity?.SetTag(PipelineTelemetry.ETagTag, blobRef.ETag);
        activity?.SetTag(PipelineTelemetry.SizeTag, properties.ContentLength);
        using var etagScope = PipelineLogScopes.ETag(_logger, blobRef.ETag!);
        var key = blobRef.ToString();
        var work = new Lazy<Task<ProcessingOutcome>>(
            () => ProcessVersionAsync(blob, blobRef, properties, invocationId, cancellationToken),
            LazyThreadSafetyMode.ExecutionAndPublication);
        var current = _inFlight.GetOrAdd(key, work);
        if (!ReferenceEquals(current, work))
        {
            PipelineLog.JoinedInFlight(_logger, name, blobRef.ETag!, invocationId);
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
        var name = LogSanitizer.Clean(blob.Name);
        var etag = blobRef.ETag!;
        var claimId = string.IsNullOrEmpty(invocationId) ? Guid.NewGuid().ToString("N") : invocationId;

        // The model first: without one the invocation fails retriably (ModelUnavailableException) before it writes
        // anything, so a missing or broken model never leaves a claim, a placeholder row or a failed result behind.
        var classifier = await _model.GetClassifierAsync(cancellationToken).ConfigureAwait(false);
        var claim = await _results.ClaimAsync(blobRef, properties.LastModified, claimId, _options.ClaimTimeout, cancellationToken)
            .ConfigureAwait(false);
        switch (claim.Status)
        {
            case ClaimStatus.AlreadyDone:
                PipelineLog.SkippedAlreadyDone(_logger, name, etag, invocationId, claim.Entity.Status);
                // A delivery killed between storing the result and its index row left the row missing: write it now.
                await _results.RepairIndexAsync(claim.Entity, cancellationToken).ConfigureAwait(false);
                if (_options.TaggingEnabled && claim.Entity.Status == ResultStatus.Succeeded && properties.TagCount == 0)
                {
                    // ... and one killed before tagging left an untagged blob (tags never change the ETag).
                    await _tagger.TagAsync(blob, etag, 0, BlobTagger.TagsFor(claim.Entity), cancellationToken).ConfigureAwait(false);
                }

                return ProcessingOutcome.Skipped(blobRef, SkipReasons.AlreadyClassified, claim.Entity);
            case ClaimStatus.Superseded:
                PipelineLog.SkippedSuperseded(_logger, name, etag, invocationId);
                return ProcessingOutcome.Skipped(blobRef, SkipReasons.Superseded, claim.Entity);
            case ClaimStatus.HeldElsewhere:
                PipelineLog.HeldElsewhere(_logger, name, etag, invocationId, claim.Entity.ClaimId ?? "?");
                throw new BlobBusyException($"{blobRef} is being classified by invocation {claim.Entity.ClaimId}.");
        }

        var claimed = claim.Entity;
        try
        {
            var result = await ClassifyClaimedAsync(classifier, blob, blobRef, properties, invocationId, cancellationToken).ConfigureAwait(false);
            if (result.Entity is null)
            {
                await _results.ReleaseClaimAsync(claimed, cancellationToken).ConfigureAwait(false);
                return ProcessingOutcome.Skipped(blobRef, result.SkipReason!);
            }

            // Another invocation may have taken the row over meanwhile (a racing older version, or a claim released
            // after a failure). Our classification is still valid for our ETag: claim again and store it, unless the
            // row now holds this version's result, a newer version's, or a live claim on this version.
            int attempts = 0;
            using var store = PipelineTelemetry.ActivitySource.StartActivity(PipelineTelemetry.StoreActivity);
            var storeStarted = Stopwatch.GetTimestamp();
            while (!await _results.CompleteAsync(claimed, result.Entity, cancellationToken).ConfigureAwait(false))
            {
                PipelineLog.ClaimLost(_logger, name, etag, invocationId);
                var again = await _results.ClaimAsync(blobRef, properties.LastModified, claimId, _options.ClaimTimeout, cancellationToken)
                    .ConfigureAwait(false);
                switch (again.Status)
                {
                    case ClaimStatus.AlreadyDone:
                        return ProcessingOutcome.Skipped(blobRef, SkipReasons.AlreadyClassified, again.Entity);
                    case ClaimStatus.Superseded:
                        return ProcessingOutcome.Skipped(blobRef, SkipReasons.Superseded, again.Entity);
                    case ClaimStatus.HeldElsewhere:
                        throw new BlobBusyException($"{blobRef} is being classified by invocation {again.Entity.ClaimId}.");
                }

                claimed = again.Entity;
                if (++attempts == 3)
                {
                    throw new BlobBusyException($"{blobRef}: the result row kept changing while storing the result.");
                }
            }

            _telemetry.Stage(PipelineTelemetry.Stages.Store, Stopwatch.GetElapsedTime(storeStarted).TotalMilliseconds);
            store?.Dispose();
            if (result.Classification is { } classification && _options.TaggingEnabled)
            {
                using var tag = PipelineTelemetry.ActivitySource.StartActivity(PipelineTelemetry.TagActivity);
                var tagStarted = Stopwatch.GetTimestamp();
                await _tagger.TagAsync(blob, etag, (int)properties.TagCount, classification, cancellationToken).ConfigureAwait(false);
                _telemetry.Stage(PipelineTelemetry.Stages.Tag, Stopwatch.GetElapsedTime(tagStarted).TotalMilliseconds);
            }

            return result.Entity.Status == ResultStatus.Succeeded
                ? new ProcessingOutcome(blobRef, OutcomeKind.Succeeded, null, result.Entity)
                : new ProcessingOutcome(blobRef, OutcomeKind.Failed, result.Entity.ErrorCode, result.Entity);
        }
        catch (Exception ex)
        {
            PipelineLog.TransientFailure(_logger, ex, name, etag, invocationId);
            try
            {
                // Best effort, even when cancelled: a held claim would make the retry wait for it to expire.
                using var release = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _results.ReleaseClaimAsync(claimed, release.Token).ConfigureAwait(false);
            }
            catch (Exception releaseError) when (releaseError is RequestFailedException or OperationCanceledException)
            {
                // The claim expires on its own after ClaimTimeout.
            }

            throw;
        }
    }

    private sealed record ClassifyResult(ResultEntity? Entity, Classification? Classification, string? SkipReason);

    private async Task<ClassifyResult> ClassifyClaimedAsync(
        IImageClassifier classifier,
        BlobClient blob, BlobRef blobRef, BlobProperties properties, string invocationId, CancellationToken cancellationToken)
    {
        var name = LogSanitizer.Clean(blob.Name);
        var etag = blobRef.ETag!;
        var started = Stopwatch.GetTimestamp();
        long length = properties.ContentLength;
        if (length == 0)
        {
            return Failed(new ImageRejectedException(ImageRejectionReason.Empty, "The blob is empty."));
        }

        if (length > _options.MaxImageBytes)
        {
            // Decided from the properties: not one byte of an oversized blob is downloaded.
            return Failed(new ImageRejectedException(
                ImageRejectionReason.TooLarge, $"The blob has {length} bytes; the limit is {_options.MaxImageBytes}."));
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            int received;
            var download = PipelineTelemetry.ActivitySource.StartActivity(PipelineTelemetry.DownloadActivity);
            try
            {
                var downloadStarted = Stopwatch.GetTimestamp();
                received = await DownloadAsync(blob, etag, buffer, (int)length, cancellationToken).ConfigureAwait(false);
                _telemetry.Stage(PipelineTelemetry.Stages.Download, Stopwatch.GetElapsedTime(downloadStarted).TotalMilliseconds);
                download?.SetTag(PipelineTelemetry.SizeTag, received);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412 or 416)
            {
                if (ex.Status == 404)
                {
                    PipelineLog.SkippedDeleted(_logger, name, invocationId);
                    return new ClassifyResult(null, null, SkipReasons.Deleted);
                }

                PipelineLog.SkippedChanged(_logger, name, etag, invocationId);
                return new ClassifyResult(null, null, SkipReasons.Changed);
            }
            finally
            {
                // Ended here, not by a using: the classification that follows is not part of the download.
                download?.Dispose();
            }

            double downloadMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Classification classification;
            try
            {
                classification = await classifier.ClassifyAsync(buffer.AsMemory(0, received), cancellationToken).ConfigureAwait(false);
            }
            catch (ImageRejectedException rejected)
            {
                return Failed(rejected, downloadMs);
            }

            _telemetry.Stage(PipelineTelemetry.Stages.DecodePreprocess, classification.Timings.DecodeAndPreprocessMs);
            _telemetry.Stage(PipelineTelemetry.Stages.Inference, classification.Timings.InferenceMs);
            var entity = NewEntity(ResultStatus.Succeeded);
            var top1 = classification.Top1;
            entity.Top1Index = top1.Index;
            entity.Top1Label = top1.Label;
            entity.Top1Probability = top1.Probability;
            entity.Predictions = JsonSerializer.Serialize(
                classification.Predictions.Select(p => new PredictionDocument(p.Index, p.Label, p.Probability)).ToArray(),
                PipelineJsonContext.Default.PredictionDocumentArray);
            entity.ModelVariant = classification.ModelVariant;
            entity.ModelSha256 = _model.Model?.Sha256 ?? classification.ModelSha256;
            entity.Recipe = classification.Recipe.ToString().ToLowerInvariant();
            entity.CropSize = classification.CropSize;
            entity.ExecutionProvider = classification.ExecutionProvider;
            entity.ImageFormat = classification.Image.Format;
            entity.ImageWidth = classification.Image.Width;
            entity.ImageHeight = classification.Image.Height;
            entity.DownloadMs = downloadMs;
            entity.DecodeAndPreprocessMs = classification.Timings.DecodeAndPreprocessMs;
            entity.QueueWaitMs = classification.Timings.QueueWaitMs;
            entity.InferenceMs = classification.Timings.InferenceMs;
            entity.BatchSize = classification.Timings.BatchSize;
            PipelineLog.Classified(_logger, name, etag, invocationId, top1.Label, top1.Probability,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, downloadMs, classification.Timings.BatchSize);
            return new ClassifyResult(entity, classification, null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        ResultEntity NewEntity(string status) => new()
        {
            Container = blobRef.Container,
            BlobName = blobRef.Name,
            Status = status,
            BlobETag = etag,
            BlobLastModified = properties.LastModified,
            ContentLength = length,
            ProcessedAt = _time.GetUtcNow(),
        };

        ClassifyResult Failed(ImageRejectedException rejected, double? downloadMs = null)
        {
            PipelineLog.Rejected(_logger, name, etag, invocationId, rejected.Code, rejected.Message);
            var entity = NewEntity(ResultStatus.Failed);
            entity.ErrorCode = rejected.Code;
            entity.ErrorMessage = rejected.Message;
            entity.DownloadMs = downloadMs;
            entity.ModelVariant = _model.Classifier?.Model.Variant;
            entity.ModelSha256 = _model.Model?.Sha256;
            return new ClassifyResult(entity, null, null);
        }
    }

    /// <summary>Reads exactly the version that was checked (If-Match) into the pooled buffer, never past its declared length.</summary>
    private static async Task<int> DownloadAsync(BlobClient blob, string etag, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        var options = new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = new ETag(etag) } };
        var response = await blob.DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
        var content = response.Value.Content;
        await using (content.ConfigureAwait(false))
        {
            int total = 0;
            while (total < length)
            {
                int read = await content.ReadAsync(buffer.AsMemory(total, length - total), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            return total;
        }
    }
}
