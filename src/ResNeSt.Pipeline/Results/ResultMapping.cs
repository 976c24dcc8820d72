using System.Text.Json;
using Azure.Storage.Blobs.Models;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Pipeline.Results;

/// <summary>
/// The one mapping of a classification: <see cref="ClassificationResult"/> → <see cref="ResultEntity"/> (stored) →
/// <see cref="ResultDocument"/> / <see cref="ClassificationDocument"/> (returned) and → blob tags
/// (<see cref="Tagging.BlobTagger.TagsFor"/>, from the entity too). Whatever the API returns was derived from an entity.
/// </summary>
public static class ResultMapping
{
    /// <summary>A result row for one blob version, with no outcome yet.</summary>
    public static ResultEntity ForVersion(BlobRef blob, DateTimeOffset lastModified, long contentLength, DateTimeOffset processedAt)
    {
        ArgumentNullException.ThrowIfNull(blob);
        return new ResultEntity
        {
            Container = blob.Container,
            BlobName = blob.Name,
            BlobETag = blob.ETag,
            BlobLastModified = lastModified,
            ContentLength = contentLength,
            ProcessedAt = processedAt,
        };
    }

    /// <summary>A result row for the blob version described by <paramref name="properties"/>, with no outcome yet.</summary>
    public static ResultEntity ForVersion(BlobRef blob, BlobProperties properties, DateTimeOffset processedAt)
    {
        ArgumentNullException.ThrowIfNull(properties);
        return ForVersion(blob, properties.LastModified, properties.ContentLength, processedAt);
    }

    /// <summary>Records a classification in <paramref name="entity"/>. <paramref name="modelSha256"/> overrides the classifier's own.</summary>
    public static ResultEntity Succeeded(ResultEntity entity, ClassificationResult classification, string? modelSha256, double? downloadMs)
    {
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentNullException.ThrowIfNull(classification);
        var top1 = classification.Top1;
        entity.Status = ResultStatus.Succeeded;
        entity.Top1Index = top1.Index;
        entity.Top1Label = top1.Label;
        entity.Top1Probability = top1.Probability;
        entity.Predictions = JsonSerializer.Serialize(
            classification.Predictions.Select(p => new PredictionDocument(p.Index, p.Label, p.Probability)).ToArray(),
            PipelineJsonContext.Default.PredictionDocumentArray);
        entity.ModelVariant = classification.ModelVariant;
        entity.ModelSha256 = modelSha256 ?? classification.ModelSha256;
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
        return entity;
    }

    /// <summary>Records a final failure (a rejected image, or an undelivered event) in <paramref name="entity"/>.</summary>
    public static ResultEntity Failed(
        ResultEntity entity, string errorCode, string errorMessage, double? downloadMs = null, string? modelVariant = null, string? modelSha256 = null)
    {
        ArgumentNullException.ThrowIfNull(entity);
        entity.Status = ResultStatus.Failed;
        entity.ErrorCode = errorCode;
        entity.ErrorMessage = errorMessage;
        entity.DownloadMs = downloadMs;
        entity.ModelVariant = modelVariant;
        entity.ModelSha256 = modelSha256;
        return entity;
    }

    /// <summary>Records a refused image (its reason code and message) in <paramref name="entity"/>.</summary>
    public static ResultEntity Rejected(
        ResultEntity entity, ImageRejectedException rejection, double? downloadMs, string? modelVariant, string? modelSha256)
    {
        ArgumentNullException.ThrowIfNull(rejection);
        return Failed(entity, rejection.Code, rejection.Message, downloadMs, modelVariant, modelSha256);
    }

    /// <summary>A stored row as <c>GET /api/results/{container}/{blob}</c> returns it.</summary>
    public static ResultDocument ToDocument(ResultEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        bool final = entity.Status != ResultStatus.Processing;
        return new ResultDocument(
            entity.Container,
            entity.BlobName,
            entity.Status,
            final ? entity.BlobETag : entity.ClaimETag,
            Top1(entity),
            Predictions(entity),
            Model(entity),
            final ? Image(entity) : null,
            entity.ProcessedAt is null ? null : Timings(entity),
            entity.ProcessedAt,
            entity.ErrorCode is { } code ? new ErrorDocument(code, entity.ErrorMessage ?? code) : null);
    }

    /// <summary>A succeeded, unstored result as <c>POST /api/classify</c> returns it.</summary>
    public static ClassificationDocument ToClassificationDocument(ResultEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        if (entity.Status != ResultStatus.Succeeded)
        {
            throw new ArgumentException("Only a succeeded result is a classification.", nameof(entity));
        }

        return new ClassificationDocument(Top1(entity)!, Predictions(entity)!, Model(entity)!, Image(entity), Timings(entity));
    }

    /// <summary>A label index row as one item of <c>GET /api/results?label=</c>.</summary>
    public static LabelResultDocument ToDocument(LabelIndexEntity row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new LabelResultDocument(row.Container, row.BlobName, row.BlobETag, row.Label, row.ClassIndex, row.Probability, row.ModelVariant, row.ProcessedAt);
    }

    private static PredictionDocument? Top1(ResultEntity entity) =>
        entity.Top1Index is { } index && entity.Top1Label is { } label ? new PredictionDocument(index, label, entity.Top1Probability ?? 0) : null;

    private static PredictionDocument[]? Predictions(ResultEntity entity) =>
        entity.Predictions is null ? null : JsonSerializer.Deserialize(entity.Predictions, PipelineJsonContext.Default.PredictionDocumentArray);

    private static ModelDocument? Model(ResultEntity entity) =>
        entity.ModelVariant is { } variant ? new ModelDocument(variant, entity.ModelSha256, entity.Recipe, entity.CropSize, entity.ExecutionProvider) : null;

    private static ImageDocument Image(ResultEntity entity) =>
        new(entity.ImageFormat, entity.ImageWidth, entity.ImageHeight, entity.ContentLength);

    private static TimingsDocument Timings(ResultEntity entity) =>
        new(entity.DownloadMs, entity.DecodeAndPreprocessMs, entity.QueueWaitMs, entity.InferenceMs, entity.BatchSize);
}
