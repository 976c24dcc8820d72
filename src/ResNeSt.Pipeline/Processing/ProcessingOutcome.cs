using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Results;

namespace ResNeSt.Pipeline.Processing;

public enum OutcomeKind
{
    Succeeded,
    Failed,
    Skipped,
}

/// <summary>Why an event led to no new result.</summary>
public static class SkipReasons
{
    public const string Deleted = "deleted";
    public const string AlreadyClassified = "already_classified";
    public const string Superseded = "superseded";
    public const string Changed = "changed_during_read";
    public const string DuplicateInFlight = "duplicate_in_flight";
    public const string WrongContainer = "wrong_container";
}

/// <summary>What one delivery of one blob event led to. <see cref="Detail"/> is the skip reason or the error code.</summary>
public sealed record ProcessingOutcome(BlobRef Blob, OutcomeKind Kind, string? Detail, ResultEntity? Result)
{
    public static ProcessingOutcome Skipped(BlobRef blob, string reason, ResultEntity? result = null) => new(blob, OutcomeKind.Skipped, reason, result);
}
