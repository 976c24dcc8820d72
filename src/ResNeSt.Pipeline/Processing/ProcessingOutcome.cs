using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Claims;
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

    /// <summary>A stored final result: succeeded, or failed with its error code.</summary>
    public static ProcessingOutcome Stored(BlobRef blob, ResultEntity result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Status == ResultStatus.Succeeded
            ? new(blob, OutcomeKind.Succeeded, null, result)
            : new(blob, OutcomeKind.Failed, result.ErrorCode, result);
    }

    /// <summary>Another invocation stored this version's result, or a newer version's, before ours (nothing of ours written).</summary>
    public static ProcessingOutcome Overtaken(BlobRef blob, ClaimResult overtaken)
    {
        ArgumentNullException.ThrowIfNull(overtaken);
        return Skipped(blob, overtaken.Status == ClaimStatus.Superseded ? SkipReasons.Superseded : SkipReasons.AlreadyClassified, overtaken.Entity);
    }
}
