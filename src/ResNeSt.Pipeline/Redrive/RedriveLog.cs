using Microsoft.Extensions.Logging;

namespace ResNeSt.Pipeline.Redrive;

internal static partial class RedriveLog
{
    [LoggerMessage(1500, LogLevel.Error, "The host gave up on {Blob} after its retries (function {FunctionId}): recorded as failed ({Code}) and queued for re-drive in {Delay}.")]
    public static partial void Undelivered(ILogger logger, string blob, string functionId, string code, TimeSpan delay);

    [LoggerMessage(1501, LogLevel.Warning, "Ignored a blob-trigger poison message that is not one: {Reason}.")]
    public static partial void MalformedPoisonMessage(ILogger logger, string reason);

    [LoggerMessage(1502, LogLevel.Information, "Re-drive {Attempt} of {Blob}: the model is still unavailable; next attempt in {Delay}.")]
    public static partial void StillUnavailable(ILogger logger, string blob, int attempt, TimeSpan delay);

    [LoggerMessage(1503, LogLevel.Error, "Re-drive of {Blob} stopped after {Attempt} attempts; its failed result stays until the blob is uploaded again or a batch job re-classifies it.")]
    public static partial void GaveUp(ILogger logger, string blob, int attempt);

    [LoggerMessage(1504, LogLevel.Information, "Re-drive {Attempt} of {Blob}: {Outcome}.")]
    public static partial void Redriven(ILogger logger, string blob, int attempt, string outcome);
}
