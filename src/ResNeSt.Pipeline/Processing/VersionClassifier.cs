using System.Diagnostics;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Results;

namespace ResNeSt.Pipeline.Processing;

/// <summary>
/// One claimed blob version into its result row: downloaded (<see cref="ImageDownloader"/>), classified, and mapped
/// (<see cref="ResultMapping"/>): succeeded, or failed with the reason a refused image gives. No row when the version
/// vanished or changed during the read (the skip reason instead). Storage and engine faults are thrown.
/// </summary>
public sealed class VersionClassifier(
    ModelRuntime model, ImageDownloader downloader, TimeProvider time, PipelineTelemetry telemetry, ILogger<VersionClassifier> logger)
{
    public async Task<(ResultEntity? Result, string? SkipReason)> ClassifyAsync(
        IImageClassifier classifier, BlobClient blob, BlobRef blobRef, BlobProperties properties, string invocationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(blob);
        ArgumentNullException.ThrowIfNull(blobRef);
        var etag = blobRef.ETag!;
        using var download = await downloader.DownloadAsync(blob, etag, properties.ContentLength, cancellationToken).ConfigureAwait(false);
        switch (download)
        {
            case { SkipReason: SkipReasons.Deleted }:
                PipelineLog.SkippedDeleted(logger);
                return (null, SkipReasons.Deleted);
            case { SkipReason: { } changed }:
                PipelineLog.SkippedChanged(logger);
                return (null, changed);
            case { Rejection: { } refused }:
                return (Rejected(refused, downloadMs: null), null);
        }

        var started = Stopwatch.GetTimestamp();
        ClassificationResult classification;
        try
        {
            classification = await classifier.ClassifyAsync(download.Bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (ImageRejectedException rejected)
        {
            return (Rejected(rejected, download.Milliseconds), null);
        }

        telemetry.Stage(PipelineTelemetry.Stages.DecodePreprocess, classification.Timings.DecodeAndPreprocessMs);
        telemetry.Stage(PipelineTelemetry.Stages.Inference, classification.Timings.InferenceMs);
        PipelineLog.Classified(logger, classification.Top1.Label, classification.Top1.Probability,
            download.Milliseconds + Stopwatch.GetElapsedTime(started).TotalMilliseconds, download.Milliseconds, classification.Timings.BatchSize);
        return (ResultMapping.Succeeded(NewResult(), classification, model.Model?.Sha256, download.Milliseconds), null);

        ResultEntity Rejected(ImageRejectedException rejected, double? downloadMs)
        {
            PipelineLog.Rejected(logger, rejected.Code, rejected.Message);
            return ResultMapping.Rejected(NewResult(), rejected, downloadMs, model.Classifier?.Model.Variant, model.Model?.Sha256);
        }

        ResultEntity NewResult() => ResultMapping.ForVersion(blobRef, properties, time.GetUtcNow());
    }
}
