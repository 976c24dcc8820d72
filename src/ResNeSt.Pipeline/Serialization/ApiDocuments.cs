namespace ResNeSt.Pipeline.Serialization;

/// <summary>One ranked class as the API returns it.</summary>
public sealed record PredictionDocument(int Index, string Label, double Probability);

public sealed record ModelDocument(string Variant, string? Sha256, string? Recipe, int? CropSize, string? ExecutionProvider);

public sealed record ImageDocument(string? Format, int? Width, int? Height, long? ContentLength);

public sealed record TimingsDocument(double? DownloadMs, double? DecodeAndPreprocessMs, double? QueueWaitMs, double? InferenceMs, int? BatchSize);

public sealed record ErrorDocument(string Code, string Message);

/// <summary><c>GET /api/results/{container}/{blob}</c>: the stored result for one blob.</summary>
public sealed record ResultDocument(
    string Container,
    string Name,
    string Status,
    string? BlobETag,
    PredictionDocument? Top1,
    IReadOnlyList<PredictionDocument>? Predictions,
    ModelDocument? Model,
    ImageDocument? Image,
    TimingsDocument? Timings,
    DateTimeOffset? ProcessedAt,
    ErrorDocument? Error);

/// <summary>One row of <c>GET /api/results?label=</c>.</summary>
public sealed record LabelResultDocument(
    string Container,
    string Name,
    string? BlobETag,
    string Label,
    int ClassIndex,
    double Probability,
    string? ModelVariant,
    DateTimeOffset ProcessedAt);

/// <summary>A page of results by label, newest first; pass <see cref="ContinuationToken"/> back for the next page.</summary>
public sealed record LabelResultPage(string Label, IReadOnlyList<LabelResultDocument> Items, string? ContinuationToken);

/// <summary><c>POST /api/classify</c>: a classification of the request body, not stored.</summary>
public sealed record ClassificationDocument(
    PredictionDocument Top1,
    IReadOnlyList<PredictionDocument> Predictions,
    ModelDocument Model,
    ImageDocument Image,
    TimingsDocument Timings);

/// <summary><c>POST /api/batches</c> body. Any other member (a container, an account, a URL) is refused, not ignored.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed record BatchRequest(string? Prefix);

/// <summary>A batch job and its progress.</summary>
public sealed record BatchJobDocument(
    string Id,
    string Container,
    string Prefix,
    string Status,
    int Queued,
    int Succeeded,
    int Failed,
    int Skipped,
    DateTimeOffset CreatedAt,
    DateTimeOffset? EnumeratedAt,
    bool Truncated = false);

/// <summary><c>GET /api/health</c>.</summary>
public sealed record HealthDocument(bool Ready, string? Variant, string? ModelSha256, int? CropSize, string? ExecutionProvider, string? Error);

/// <summary>
/// A message on the classify queue: <c>enumerate</c> lists one page of the job's prefix (and enqueues the next page),
/// <c>classify</c> classifies one blob and counts it in the job.
/// </summary>
public sealed record BatchMessage(string Kind, string JobId, string? Name = null, int? Page = null, string? Continuation = null, int? Attempt = null)
{
    public const string EnumerateKind = "enumerate";
    public const string ClassifyKind = "classify";

    /// <summary>Classify <see cref="Name"/> again, outside any job (<see cref="Redrive.UndeliveredBlobService"/>); <see cref="Attempt"/> counts from 1.</summary>
    public const string RedriveKind = "redrive";
}

/// <summary>RFC 9457 problem details; <see cref="InvocationId"/> correlates the response with the function's logs and trace.</summary>
public sealed record ProblemDocument(string Title, int Status, string? Detail, string? Code, string? InvocationId = null);

/// <summary><c>POST /api/uploads</c>: where an upload was stored; its result appears at <c>/api/results/{Name}</c>.</summary>
public sealed record UploadDocument(string Container, string Name, string Format, int Width, int Height, long ContentLength);

/// <summary><c>GET /api/tags/{blob}</c>: the blob's index tags (ours and the uploader's).</summary>
public sealed record BlobTagsDocument(string Container, string Name, IReadOnlyDictionary<string, string> Tags);
