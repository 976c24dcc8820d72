using Microsoft.Extensions.Logging;

namespace ResNeSt.Pipeline.Diagnostics;

/// <summary>
/// Logging scopes around one image: every line logged while it is processed — by the pipeline, the result store,
/// the tagger or the storage SDK — carries its blob, invocation id and (once known) ETag as structured properties.
/// </summary>
internal static class PipelineLogScopes
{
    private static readonly Func<ILogger, string, string, IDisposable?> s_blob =
        LoggerMessage.DefineScope<string, string>("Blob {Blob} (invocation {InvocationId})");

    private static readonly Func<ILogger, string, IDisposable?> s_etag =
        LoggerMessage.DefineScope<string>("ETag {ETag}");

    /// <summary><paramref name="blob"/> must already be cleaned by <see cref="LogSanitizer.Clean"/>.</summary>
    public static IDisposable? Blob(ILogger logger, string blob, string invocationId) => s_blob(logger, blob, invocationId);

    public static IDisposable? ETag(ILogger logger, string etag) => s_etag(logger, etag);
}
