using Azure;
using Azure.Data.Tables;

namespace ResNeSt.Pipeline.Results;

/// <summary>Result status values as stored and returned by the API.</summary>
public static class ResultStatus
{
    public const string Processing = "processing";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}

/// <summary>
/// One row per (container, blob): the latest classification of the blob, or the claim of the invocation working on
/// a new version. Keys come from <see cref="TableKeys.ForResult(string, string)"/>.
/// </summary>
public sealed class ResultEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Container { get; set; } = "";
    public string BlobName { get; set; } = "";

    /// <summary><see cref="ResultStatus"/>; <c>processing</c> before the first result for this blob exists.</summary>
    public string Status { get; set; } = ResultStatus.Processing;

    /// <summary>The blob version this result describes.</summary>
    public string? BlobETag { get; set; }
    public DateTimeOffset? BlobLastModified { get; set; }
    public long? ContentLength { get; set; }

    public int? Top1Index { get; set; }
    public string? Top1Label { get; set; }
    public double? Top1Probability { get; set; }

    /// <summary>Top-k as JSON (<see cref="Serialization.PipelineJsonContext"/>); a few hundred bytes.</summary>
    public string? Predictions { get; set; }

    public string? ModelVariant { get; set; }
    public string? ModelSha256 { get; set; }
    public string? Recipe { get; set; }
    public int? CropSize { get; set; }
    public string? ExecutionProvider { get; set; }

    public string? ImageFormat { get; set; }
    public int? ImageWidth { get; set; }
    public int? ImageHeight { get; set; }

    public double? DownloadMs { get; set; }
    public double? DecodeAndPreprocessMs { get; set; }
    public double? QueueWaitMs { get; set; }
    public double? InferenceMs { get; set; }
    public int? BatchSize { get; set; }

    public DateTimeOffset? ProcessedAt { get; set; }
    public string? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }

    /// <summary>The label index row of this result, so an overwrite can remove it.</summary>
    public string? IndexPartitionKey { get; set; }
    public string? IndexRowKey { get; set; }

    /// <summary>An index row of an earlier version still to delete (survives a crash between the writes).</summary>
    public string? SupersededIndexPartitionKey { get; set; }
    public string? SupersededIndexRowKey { get; set; }

    /// <summary>The blob version an invocation is working on, who, and since when.</summary>
    public string? ClaimETag { get; set; }
    public string? ClaimId { get; set; }
    public DateTimeOffset? ClaimedAt { get; set; }
}

/// <summary>One row per succeeded result in the partition of its top-1 label, newest first.</summary>
public sealed class LabelIndexEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Container { get; set; } = "";
    public string BlobName { get; set; } = "";
    public string? BlobETag { get; set; }
    public string Label { get; set; } = "";
    public int ClassIndex { get; set; }
    public double Probability { get; set; }
    public string? ModelVariant { get; set; }
    public DateTimeOffset ProcessedAt { get; set; }
}
