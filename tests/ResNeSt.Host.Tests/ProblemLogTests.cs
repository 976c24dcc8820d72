using System.Net;
using System.Text;
using ResNeSt.Host.Tests.Infrastructure;
using ResNeSt.Pipeline.Configuration;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>
/// A request that fails inside the app answers a problem naming its invocation, and the exported log record of the
/// failure can be found by that id: the worker's invocation scope carries it as <c>faas.invocation_id</c> (the message
/// text does not repeat it), and the invocation's span is marked failed. The host's console shows the failure once.
/// </summary>
public sealed class ProblemLogTests(ITestOutputHelper output)
{
    private const string Message = "HTTP request failed; answered 500 without details.";

    [SkippableFact]
    public async Task A_failed_request_is_exported_with_its_invocation_id_in_scope_and_a_failed_span()
    {
        await using var app = await HostedApp.StartAsync(await ParityModel.BytesAsync(), new Dictionary<string, string>
        {
            ["Telemetry__Console"] = "true",
        });
        await app.Tables.DeleteTableAsync(ResourceNames.Default.Tables.BatchJobs); // a real storage failure inside the function

        using var response = await app.SendAsync(HttpMethod.Post, "api/batches", new StringContent("""{"prefix":"x/"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        string invocationId = Assert.Single(response.Headers.GetValues("x-resnest-invocation-id"));
        Assert.Equal(invocationId, (await HostedApp.JsonAsync(response))["invocationId"]!.GetValue<string>());

        string record = "", span = "";
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && (record.Length == 0 || span.Length == 0); await Task.Delay(500))
        {
            record = ExportedRecord(app.Host.LogText, Message);
            span = ExportedSpan(app.Host.LogText, invocationId);
        }

        output.WriteLine(record);
        Assert.NotEqual("", record);
        Assert.Contains($"faas.invocation_id: {invocationId}", record, StringComparison.Ordinal);
        Assert.Equal(1, LogSearch.Occurrences(record, invocationId)); // in the scope, not again in the text or attributes
        Assert.Contains("RequestFailedException", record, StringComparison.Ordinal);

        // The worker's span of the invocation is marked failed: the middleware handled the exception, so without that
        // mark a 500 would be exported as a successful function run.
        Assert.Contains("function StartBatch", span, StringComparison.Ordinal);
        Assert.Matches(@"StatusCode:\s+Error", span);
        Assert.Contains("internal_error", span, StringComparison.Ordinal);

        // The host's console shows the line once, the exception's type and message without its stack
        // (OutOfInvocationConsoleLoggerProvider: the worker does not forward it, see that class).
        var console = app.Host.LogText.Split('\n').Where(l => l.Contains("ApiProblemMiddleware[2000] " + Message, StringComparison.Ordinal)).ToArray();
        Assert.Single(console);
        Assert.Contains("(RequestFailedException: ", console[0], StringComparison.Ordinal);
    }

    // The console exporter's block for the worker's span of the invocation: from its "Activity.TraceId:" line to the
    // next exported item.
    private static string ExportedSpan(string log, string invocationId)
    {
        // The id also stands in the scopes of log records; the span's own tag is the one inside an Activity block.
        string tag = "faas.invocation_id: " + invocationId;
        for (int at = log.IndexOf(tag, StringComparison.Ordinal); at >= 0; at = log.IndexOf(tag, at + 1, StringComparison.Ordinal))
        {
            int start = log.LastIndexOf("Activity.TraceId:", at, StringComparison.Ordinal);
            int record = log.LastIndexOf("LogRecord.Timestamp:", at, StringComparison.Ordinal);
            if (start > record)
            {
                return log[start..NextItem(log, at)];
            }
        }

        return "";
    }

    // The console exporter's block for the log record whose message is <paramref name="message"/>: from its
    // "LogRecord.Timestamp:" line to the next exported item.
    private static string ExportedRecord(string log, string message)
    {
        int at = log.IndexOf("LogRecord.FormattedMessage:        " + message, StringComparison.Ordinal);
        if (at < 0)
        {
            return "";
        }

        int start = log.LastIndexOf("LogRecord.Timestamp:", at, StringComparison.Ordinal);
        return log[start..NextItem(log, at)];
    }

    // Where the console exporter's next item (span or log record) after <paramref name="at"/> begins.
    private static int NextItem(string log, int at) =>
        new[] { log.IndexOf("Activity.TraceId:", at, StringComparison.Ordinal), log.IndexOf("LogRecord.Timestamp:", at, StringComparison.Ordinal), log.Length }
            .Where(i => i >= 0).Min();
}
