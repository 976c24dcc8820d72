using System.Net;
using System.Net.Http.Headers;
using ResNeSt.Host.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>
/// What the app exports as telemetry (spans, logs, metrics: what Application Insights receives) carries no key. The
/// app runs with its console exporter (<c>Telemetry__Console=true</c>), whose output the host logs line by line, so
/// the exported items can be read from the host's log as they would reach Application Insights.
/// </summary>
public sealed class TelemetryKeyTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task No_key_reaches_an_exported_span_log_record_or_metric()
    {
        await using var app = await HostedApp.StartAsync(await ParityModel.BytesAsync(), new Dictionary<string, string>
        {
            ["Telemetry__Console"] = "true",
            // Metrics are exported every 2 s instead of every 60 s, so they are in the log before the test reads it.
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "2000",
        });
        string key = app.Host.Keys.Function;
        var png = await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, "camera.png"));
        var blob = await app.UploadAsync("telemetry/camera.png", png);

        // Every place a key travels: the code query (also beside other parameters), the header, the webhook's system key.
        var code = "code=" + Uri.EscapeDataString(key);
        foreach (var path in new[] { $"api/results/telemetry/missing.jpg?{code}", $"api/results?blob=telemetry%2Fmissing.jpg&{code}", $"api/results?label=tabby&{code}", $"api/tags/telemetry/camera.png?{code}" })
        {
            using var response = await app.Http.GetAsync(path);
            Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var content = new ByteArrayContent(png))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            using var classified = await app.Http.PostAsync($"api/classify?{code}", content);
            Assert.Equal(HttpStatusCode.OK, classified.StatusCode);
        }

        using (await app.SendAsync(HttpMethod.Get, "api/results/telemetry/header.jpg"))
        using (var delivered = await app.DeliverBlobCreatedAsync([blob]))
        {
            Assert.Equal(HttpStatusCode.Accepted, delivered.StatusCode);
        }

        await app.WaitForResultAsync(blob.Name, TimeSpan.FromSeconds(90));
        await Task.Delay(TimeSpan.FromSeconds(6)); // two metric export intervals, and the console's flush
        var log = app.Host.LogText;

        // The exporter really exported: spans of the HTTP invocations and of the blob, log records, metrics. Without
        // them the absence of a key below would prove nothing.
        int spans = LogSearch.Occurrences(log, "Activity.TraceId:");
        int records = LogSearch.Occurrences(log, "LogRecord.Timestamp:");
        int metrics = LogSearch.Occurrences(log, "Metric Name:");
        output.WriteLine($"exported: {spans} spans, {records} log records, {metrics} metric items");
        Assert.True(spans >= 7, $"{spans} spans exported");
        Assert.Contains("resnest.process_blob", log, StringComparison.Ordinal);
        Assert.True(records > 0, "no log record exported");
        Assert.True(metrics > 0, "no metric exported");

        var findings = new List<string>();
        foreach (var secret in app.Host.Keys.All)
        {
            foreach (var form in new[] { secret, Uri.EscapeDataString(secret) }.Distinct())
            {
                for (int at = log.IndexOf(form, StringComparison.Ordinal); at >= 0; at = log.IndexOf(form, at + form.Length, StringComparison.Ordinal))
                {
                    findings.Add(Redacted(log, at, form.Length));
                }
            }
        }

        Assert.True(findings.Count == 0, $"A key reached the exported telemetry {findings.Count} times:\n{string.Join("\n---\n", findings.Take(8))}");
        Assert.Contains("code=[redacted]", log, StringComparison.Ordinal); // the request log is still exported, redacted
    }

    // The line around a finding, with the key itself masked, so a failure does not print the key.
    private static string Redacted(string log, int at, int length)
    {
        if (at < 0)
        {
            return "";
        }

        int start = Math.Max(0, at - 160);
        return log[start..at] + "<key>" + log[(at + length)..Math.Min(log.Length, at + length + 60)];
    }
}
