using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Redrive;

/// <summary>
/// Uploads the host gave up on. The host retries a failing blob trigger five times within about a minute and then
/// moves its event to <c>webjobs-blobtrigger-poison</c>, which nothing else reads: without this, an upload made while
/// the model is missing or broken would be lost (no result, GET answers 404). Here each such event becomes a failed
/// result that says why (<see cref="UndeliveredReasons"/>) and a re-drive message on the classify queue, delayed and
/// repeated with back-off while the model stays unavailable, so the upload is classified once the model loads.
/// </summary>
public sealed class UndeliveredBlobService(
    PipelineStorage storage,
    ClassificationPipeline pipeline,
    ResultClaims claims,
    ModelRuntime model,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<UndeliveredBlobService> logger)
{
    private static readonly TimeSpan s_maxDelay = TimeSpan.FromHours(1);
    private readonly PipelineOptions _options = options.Value;

    /// <summary>Handles one message of the blob trigger's poison queue.</summary>
    public async Task RecordPoisonedTriggerAsync(string body, CancellationToken cancellationToken)
    {
        BlobTriggerPoisonMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(body, PipelineJsonContext.Default.BlobTriggerPoisonMessage);
        }
        catch (JsonException)
        {
            message = null;
        }

        // Only our own trigger's events on our own container are ours to re-drive; anything else is logged and dropped
        // (throwing would only move garbage to yet another poison queue).
        if (message is not { ContainerName: { } container, BlobName: { } name })
        {
            RedriveLog.MalformedPoisonMessage(logger, "not a blob-trigger message");
            return;
        }

        if (!string.Equals(container, _options.ImagesContainer, StringComparison.Ordinal) || BlobAddress.Check(storage.Images, name) is not null)
        {
            RedriveLog.MalformedPoisonMessage(logger, $"blob {LogSanitizer.Clean(container + "/" + name)} is not in the images container");
            return;
        }

        bool modelDown = model.LastFailureCode is not null || model.Classifier is null;
        var code = modelDown ? UndeliveredReasons.ModelUnavailable : UndeliveredReasons.DeliveryFailed;
        var text = modelDown
            ? $"The model was unavailable ({model.LastFailureCode ?? "not loaded"}) for every attempt; the upload is classified again once the model loads."
            : "Every attempt to classify the upload failed (see the logs of its invocations); it is classified again shortly.";
        var blob = storage.Images.GetBlobClient(name);
        if (await RecordUndeliveredAsync(blob, code, text, cancellationToken).ConfigureAwait(false))
        {
            var delay = DelayBefore(1);
            RedriveLog.Undelivered(logger, LogSanitizer.Clean(name), LogSanitizer.Clean(message.FunctionId ?? "?"), code, delay);
            await EnqueueAsync(name, 1, delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records that every delivery of the current version of <paramref name="blob"/> failed for a reason that is not
    /// the image's (<see cref="UndeliveredReasons"/>), so that a query answers "failed, and why" instead of nothing.
    /// Returns false when there is nothing to record: the blob is gone, or this version already has a final result, or
    /// a newer one, or a live invocation is classifying it right now.
    /// </summary>
    public async Task<bool> RecordUndeliveredAsync(BlobClient blob, string errorCode, string errorMessage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (await ImageDownloader.TryGetPropertiesAsync(blob, cancellationToken).ConfigureAwait(false) is not { } properties)
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

        var failed = ResultMapping.Failed(ResultMapping.ForVersion(blobRef, properties, time.GetUtcNow()), errorCode, errorMessage);
        return await claims.CompleteAsync(claim.Entity, failed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Handles a <see cref="BatchMessage.RedriveKind"/> message of the classify queue.</summary>
    public async Task RedriveAsync(BatchMessage message, string invocationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Name is not { } name || BlobAddress.Check(storage.Images, name) is not null)
        {
            RedriveLog.MalformedPoisonMessage(logger, "a re-drive message without a valid blob name");
            return;
        }

        int attempt = Math.Max(1, message.Attempt ?? 1);
        try
        {
            var outcome = await pipeline.ProcessAsync(storage.Images.GetBlobClient(name), invocationId, cancellationToken).ConfigureAwait(false);
            RedriveLog.Redriven(logger, LogSanitizer.Clean(name), attempt, outcome.Detail is null ? outcome.Kind.ToString() : $"{outcome.Kind} ({outcome.Detail})");
        }
        catch (ModelUnavailableException)
        {
            if (attempt >= _options.RedriveMaxAttempts)
            {
                RedriveLog.GaveUp(logger, LogSanitizer.Clean(name), attempt);
                return;
            }

            var delay = DelayBefore(attempt + 1);
            RedriveLog.StillUnavailable(logger, LogSanitizer.Clean(name), attempt, delay);
            await EnqueueAsync(name, attempt + 1, delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A re-drive message the host gave up on (it failed five times for another reason): its failed result stays.</summary>
    public void RecordPoisonedRedrive(BatchMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        RedriveLog.GaveUp(logger, LogSanitizer.Clean(message.Name ?? "?"), message.Attempt ?? 1);
    }

    /// <summary>The delay before attempt <paramref name="attempt"/>: <see cref="PipelineOptions.RedriveDelay"/> doubled per attempt, at most an hour.</summary>
    public TimeSpan DelayBefore(int attempt)
    {
        double factor = Math.Pow(2, Math.Clamp(attempt - 1, 0, 20));
        return TimeSpan.FromTicks((long)Math.Min(_options.RedriveDelay.Ticks * factor, s_maxDelay.Ticks));
    }

    private async Task EnqueueAsync(string name, int attempt, TimeSpan delay, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(new BatchMessage(BatchMessage.RedriveKind, "", name, Attempt: attempt), PipelineJsonContext.Default.BatchMessage);
        await storage.ClassifyQueue.SendMessageAsync(json, visibilityTimeout: delay, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
