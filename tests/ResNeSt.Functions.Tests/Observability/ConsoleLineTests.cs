using Microsoft.Extensions.Logging;
using ResNeSt.Functions.Hosting;

namespace ResNeSt.Functions.Tests.Observability;

/// <summary>
/// The lines <see cref="OutOfInvocationConsoleLoggerProvider"/> writes for the host's console: one a record, with the
/// app's message scopes after it, and none for a record the worker forwards to the host itself.
/// </summary>
public sealed partial class ConsoleLineTests
{
    [LoggerMessage(1000, LogLevel.Information, "Classified as {Label}")]
    private static partial void Classified(ILogger logger, string label);

    [LoggerMessage(0, LogLevel.Warning, "{Text}")]
    private static partial void Warn(ILogger logger, string text);

    [LoggerMessage(0, LogLevel.Error, "{Text}")]
    private static partial void Fail(ILogger logger, Exception exception, string text);

    private static readonly Func<ILogger, string, string, IDisposable?> s_blobScope =
        LoggerMessage.DefineScope<string, string>("Blob {Blob} (invocation {InvocationId})");

    private static readonly Func<ILogger, string, IDisposable?> s_etagScope = LoggerMessage.DefineScope<string>("ETag {ETag}");

    private static (ILogger Logger, StringWriter Console, ILoggerFactory Factory) Create()
    {
        var console = new StringWriter();
        var factory = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(new OutOfInvocationConsoleLoggerProvider(console)));
        return (factory.CreateLogger("ResNeSt.Test"), console, factory);
    }

    [Fact]
    public void A_line_names_the_blob_and_etag_of_its_scopes_and_leaves_out_key_list_scopes()
    {
        var (logger, console, factory) = Create();
        using (factory)
        using (logger.BeginScope(new Dictionary<string, object?> { ["faas.invocation_id"] = "inv-1", ["faas.name"] = "ClassifyUploadedImage" }))
        using (s_blobScope(logger, "trips/dog.jpg", "inv-1"))
        using (s_etagScope(logger, "\"0x1\""))
        {
            Classified(logger, "tabby");
        }

        Assert.Equal(
            "info: ResNeSt.Test[1000] Classified as tabby => Blob trips/dog.jpg (invocation inv-1) => ETag \"0x1\"" + Environment.NewLine,
            console.ToString());
    }

    [Fact]
    public void A_record_the_worker_forwards_to_the_host_is_not_written_again()
    {
        var (logger, console, factory) = Create();
        using (factory)
        {
            using (logger.BeginScope(new Dictionary<string, object?> { [OutOfInvocationConsoleLoggerProvider.InvocationScopeKey] = "inv-2" }))
            {
                Warn(logger, "inside an invocation the worker forwards");
            }

            Warn(logger, "outside");
        }

        Assert.Equal("warn: ResNeSt.Test[0] outside" + Environment.NewLine, console.ToString());
    }

    [Fact]
    public void A_record_is_one_line_whatever_its_message_exception_or_scope_holds()
    {
        var (logger, console, factory) = Create();
        using (factory)
        using (s_blobScope(logger, "a\nb\u2028c.png", "inv-3"))
        {
            Fail(logger, new InvalidOperationException("first\r\nsecond"), "failed\nhere");
        }

        string written = console.ToString();
        Assert.Equal(written.TrimEnd('\r', '\n').ReplaceLineEndings(" "), written.TrimEnd('\r', '\n'));
        Assert.Equal("fail: ResNeSt.Test[0] failed here (InvalidOperationException: first second) => Blob a b c.png (invocation inv-3)", written.TrimEnd('\r', '\n'));
    }
}
