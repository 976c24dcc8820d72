using System.Net;
using System.Text;
using ResNeSt.Host.Tests.Infrastructure;
using ResNeSt.Pipeline.Configuration;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>
/// A request that fails inside the app answers a problem naming its invocation, and the exported log record of the
/// failure can be found by that id: the worker's invocation scope carries it as <c>faas.invocation_id</c> (the message
/// text does not repeat it). The host's console shows the failure once.
/// </summary>
public sealed class ProblemLogTests(ITestOutputHelper output)
{
    private const string Message = "HTTP request failed; answered 500 without details.";

    [SkippableFact]
    public async Task A_failed_request_is_exported_with_its_invocation_id_in_the_scope_of_its_log_record()
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

        string record = "";
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && record.Length == 0; await Task.Delay(500))
        {
            record = ExportedRecord(app.Host.LogText, Message);
        }

        output.WriteLine(record);
        Assert.NotEqual("", record);
        Assert.Contains($"faas.invocation_id: {invocationId}", record, StringComparison.Ordinal);
        Assert.Equal(1, LogSearch.Occurrences(record, invocationId)); // in the scope, not again in the text or attributes
        Assert.Contains("RequestFailedException", record, StringComparison.Ordinal);

        // The host's console shows the line once, the exception's type and message without its stack
        // (OutOfInvocationConsoleLoggerProvider: the worker does not forward it, see that class).
        var console = app.Host.LogText.Split('\n').Where(l => l.Contains("ApiProblemMiddleware[2000] " + Message, StringComparison.Ordinal)).ToArray();
        Assert.Single(console);
        Assert.Contains("(RequestFailedException: ", console[0], StringComparison.Ordinal);
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
        int end = log.IndexOf("LogRecord.Timestamp:", at, StringComparison.Ordinal);
        int nextSpan = log.IndexOf("Activity.TraceId:", at, StringComparison.Ordinal);
        end = new[] { end, nextSpan, log.Length }.Where(i => i >= 0).Min();
        return log[start..end];
    }
}
