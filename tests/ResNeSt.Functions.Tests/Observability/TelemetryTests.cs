using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ResNeSt.Functions.Hosting;
using ResNeSt.Functions.Triggers;
using ResNeSt.Inference.Diagnostics;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.Storage;
using ResNeSt.TestSupport;

namespace ResNeSt.Functions.Tests.Observability;

/// <summary>
/// The app's own telemetry wiring (<see cref="FunctionsAppSetup"/>: OpenTelemetry with the pipeline's and engine's
/// meters and sources), with in-memory exporters added, while real images go through the blob trigger on Azurite.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class TelemetryTests(AzuriteFixture azurite)
{
    private sealed record CapturedLog(int EventId, string Category, string? Message, IReadOnlyList<string> AttributeKeys, IReadOnlyDictionary<string, object?> Scopes, string Attributes);

    /// <summary>Copies what the test needs out of each log record at export time (records are pooled and reused).</summary>
    private sealed class LogCapture : BaseProcessor<LogRecord>
    {
        public List<CapturedLog> Logs { get; } = [];

        public override void OnEnd(LogRecord data)
        {
            var scopes = new Dictionary<string, object?>(StringComparer.Ordinal);
            data.ForEachScope(static (scope, state) =>
            {
                foreach (var (key, value) in scope)
                {
                    state[key] = value;
                }
            }, scopes);
            lock (Logs)
            {
                var attributes = data.Attributes?.Select(a => a.Key).Where(k => k != "{OriginalFormat}").ToList() ?? [];
                Logs.Add(new CapturedLog(data.EventId.Id, data.CategoryName ?? "", data.FormattedMessage, attributes, scopes, string.Join(' ', (data.Attributes ?? []).Select(a => $"{a.Key}={a.Value}"))));
            }
        }
    }

    private sealed class App : IAsyncDisposable
    {
        public required IHost Host { get; init; }
        public required List<Activity> Spans { get; init; }
        public required List<MetricSnapshot> Metrics { get; init; }
        public required LogCapture Logs { get; init; }

        public IServiceProvider Services => Host.Services;

        public void Flush()
        {
            Services.GetRequiredService<TracerProvider>().ForceFlush();
            Services.GetRequiredService<MeterProvider>().ForceFlush();
        }

        /// <summary>The last exported snapshot of a metric (cumulative: it holds everything so far).</summary>
        public MetricSnapshot Metric(string name) => Metrics.Last(m => m.Name == name);

        public async ValueTask DisposeAsync()
        {
            await Host.StopAsync();
            Host.Dispose();
        }
    }

    private async Task<App> StartAsync(string? modelPath = null)
    {
        await azurite.ResetAsync();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ImageStorage"] = azurite.ConnectionString,
            ["Model:Path"] = modelPath ?? TestModel.Path,
            ["Inference:ExecutionProvider"] = "Cpu",
            ["Inference:IntraOpThreads"] = "2",
            [TelemetrySettings.ConsoleSetting] = "false",
        });
        builder.Services.AddResNeStFunctions(builder.Configuration);
        var spans = new List<Activity>();
        var metrics = new List<MetricSnapshot>();
        var logs = new LogCapture();
        builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddInMemoryExporter(spans))
            .WithMetrics(m => m.AddInMemoryExporter(metrics))
            .WithLogging(l => l.AddProcessor(logs));
        var host = builder.Build();
        await host.StartAsync();
        return new App { Host = host, Spans = spans, Metrics = metrics, Logs = logs };
    }

    /// <summary>
    /// A broken model at start-up is in no invocation, so the host's console drops it; the worker's own log pipeline
    /// (the one the Azure Monitor exporter is on) must carry it to Application Insights, and the out-of-invocation
    /// console provider must print it for the host to show (<c>func start</c>, the container's log stream).
    /// </summary>
    [Fact]
    public async Task A_model_that_fails_to_load_at_start_up_reaches_the_exported_logs()
    {
        await using var app = await StartAsync(modelPath: Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.onnx"));
        lock (app.Logs.Logs)
        {
            Assert.Contains(app.Logs.Logs, l => l.Category == "ResNeSt.Pipeline.ModelLoading.ModelRuntime" && l.Message!.Contains("Model load failed", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_key_in_a_request_URL_is_redacted_from_exported_log_records_and_spans()
    {
        await using var app = await StartAsync();
        const string key = "Zm9vYmFyLWtleS0xMjM0NTY3ODkwLWFiY2RlZg==";

        // What the worker's ASP.NET Core logs for every request the host forwards (the real host test found it exported).
        var logger = app.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics");
#pragma warning disable CA1848, CA1873, CA2254 // the exact call ASP.NET Core makes, not one of ours
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(
            logger,
            "Request starting {Protocol} {Method} {Scheme}://{Host}{PathBase}{Path}{QueryString} - {ContentType} {ContentLength}",
            "HTTP/1.1", "GET", "http", "localhost:7071", "", "/api/results/a.jpg", new Microsoft.AspNetCore.Http.QueryString("?blob=a&code=" + key), null, null);
#pragma warning restore CA1848, CA1873, CA2254

        // And a span carrying the URL the ways HTTP instrumentation does.
        using (var source = new ActivitySource(PipelineTelemetry.SourceNames[0]))
        using (var span = source.StartActivity("GET /api/results?code=" + key))
        {
            Assert.NotNull(span);
            span.SetTag("url.full", "http://localhost:7071/api/results?blob=a&code=" + key);
            span.SetTag("url.query", "code=" + key + "&blob=a");
            span.SetTag("http.target", "/api/results/a.jpg?code=" + key);
        }

        app.Flush();
        var log = Assert.Single(app.Logs.Logs, l => l.Category == "Microsoft.AspNetCore.Hosting.Diagnostics");
        Assert.Contains("?blob=a&code=[redacted]", log.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, log.Message + log.Attributes, StringComparison.Ordinal);
        Assert.Contains("QueryString=?blob=a&code=[redacted]", log.Attributes, StringComparison.Ordinal);
        var exported = Assert.Single(app.Spans, s => s.DisplayName.StartsWith("GET /api/results", StringComparison.Ordinal));
        Assert.Equal("GET /api/results?code=[redacted]", exported.DisplayName);
        Assert.Equal("http://localhost:7071/api/results?blob=a&code=[redacted]", exported.GetTagItem("url.full"));
        Assert.Equal("code=[redacted]&blob=a", exported.GetTagItem("url.query"));
        Assert.Equal("/api/results/a.jpg?code=[redacted]", exported.GetTagItem("http.target"));
    }

    private static async Task<string> UploadAndTriggerAsync(App app, string name, byte[] content, string invocationId)
    {
        var images = app.Services.GetRequiredService<PipelineStorage>().Images;
        var blob = images.GetBlobClient(name);
        var etag = (await blob.UploadAsync(new BinaryData(content), overwrite: true)).Value.ETag.ToString();
        var trigger = ActivatorUtilities.CreateInstance<ClassifyUploadedImage>(app.Services);
        await trigger.RunAsync(blob, new TestFunctionContext(invocationId, app.Services), default);
        return etag;
    }

    private static long Sum(MetricSnapshot metric, string? tag = null, string? value = null) =>
        metric.MetricPoints.Where(p => tag is null || HasTag(p, tag, value)).Sum(p => p.GetSumLong());

    private static bool HasTag(MetricPoint point, string tag, string? value)
    {
        foreach (var pair in point.Tags)
        {
            if (pair.Key == tag && (value is null || Equals(pair.Value?.ToString(), value)))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<string> TagValues(MetricSnapshot metric, string tag)
    {
        foreach (var point in metric.MetricPoints)
        {
            foreach (var pair in point.Tags)
            {
                if (pair.Key == tag)
                {
                    yield return pair.Value?.ToString() ?? "";
                }
            }
        }
    }

    [Fact]
    public async Task An_image_through_the_trigger_emits_counters_stage_histograms_a_trace_with_stage_spans_and_scoped_logs()
    {
        await using var app = await StartAsync();
        var etag = await UploadAndTriggerAsync(app, "tel/dog.jpg", TestImages.Sample("dog.jpg"), "inv-ok");
        var badEtag = await UploadAndTriggerAsync(app, "tel/not-an-image.png", TestImages.Text(), "inv-bad");
        app.Flush();

        // Counters: one classified, one failed with its reason.
        Assert.Equal(1, Sum(app.Metric(PipelineTelemetry.ProcessedMetric)));
        var failed = app.Metric(PipelineTelemetry.FailedMetric);
        Assert.Equal(1, Sum(failed));
        Assert.Equal(1, Sum(failed, PipelineTelemetry.ReasonTag, "unsupported_format"));

        // Histograms: every stage of the classified image, the batcher's view, the model load of this host's start.
        var stages = app.Metric(PipelineTelemetry.StageDurationMetric);
        Assert.Equal(stages.MetricPoints.Count, stages.MetricPoints.Select(p => p.GetHistogramCount()).Count(c => c >= 1));
        Assert.Equal(["decode_preprocess", "download", "inference", "store", "tag"], TagValues(stages, PipelineTelemetry.StageTag).Order());
        Assert.Equal("s", stages.Unit);
        Assert.True(app.Metric(InferenceTelemetry.BatchSizeMetric).MetricPoints.Sum(p => p.GetHistogramCount()) >= 1);
        Assert.True(app.Metric(InferenceTelemetry.QueueWaitMetric).MetricPoints.Sum(p => p.GetHistogramCount()) >= 1);
        var load = app.Metric(InferenceTelemetry.ModelLoadMetric);
        Assert.True(load.MetricPoints.Sum(p => p.GetHistogramCount()) >= 1);
        Assert.Contains("CPUExecutionProvider", TagValues(load, InferenceTelemetry.ProviderTag));

        // Trace: one span per image with blob, ETag and invocation id, and a child per stage.
        var root = Assert.Single(app.Spans, s => s.OperationName == PipelineTelemetry.ProcessActivity && Equals(s.GetTagItem(PipelineTelemetry.BlobTag), "tel/dog.jpg"));
        Assert.Equal(etag, root.GetTagItem(PipelineTelemetry.ETagTag));
        Assert.Equal("inv-ok", root.GetTagItem(PipelineTelemetry.InvocationTag));
        Assert.Equal("images", root.GetTagItem(PipelineTelemetry.ContainerTag));
        Assert.Equal("succeeded", root.GetTagItem(PipelineTelemetry.OutcomeTag));
        var children = app.Spans.Where(s => s.ParentSpanId == root.SpanId).ToArray();
        Assert.Equal(
            [InferenceTelemetry.DecodePreprocessActivity, PipelineTelemetry.DownloadActivity, InferenceTelemetry.InferenceActivity, PipelineTelemetry.StoreActivity, PipelineTelemetry.TagActivity],
            children.Select(s => s.OperationName).Order(StringComparer.Ordinal));
        Assert.All(children, s => Assert.Equal(root.TraceId, s.TraceId));
        Assert.All(children, s => Assert.InRange(s.StartTimeUtc, root.StartTimeUtc - TimeSpan.FromSeconds(1), root.StartTimeUtc + root.Duration));
        var decode = children.Single(s => s.OperationName == InferenceTelemetry.DecodePreprocessActivity);
        Assert.Equal("jpeg", decode.GetTagItem(InferenceTelemetry.ImageFormatTag));
        var inference = children.Single(s => s.OperationName == InferenceTelemetry.InferenceActivity);
        Assert.True(inference.StartTimeUtc >= decode.StartTimeUtc); // placed after the image was written into its slot
        Assert.Equal(1, inference.GetTagItem(InferenceTelemetry.BatchSizeTag));

        // The rejected image: failed with its reason, and the stage that rejected it marked as an error.
        var bad = Assert.Single(app.Spans, s => s.OperationName == PipelineTelemetry.ProcessActivity && Equals(s.GetTagItem(PipelineTelemetry.BlobTag), "tel/not-an-image.png"));
        Assert.Equal(("failed", "unsupported_format", badEtag), (bad.GetTagItem(PipelineTelemetry.OutcomeTag), bad.GetTagItem(PipelineTelemetry.ReasonTag), bad.GetTagItem(PipelineTelemetry.ETagTag)));
        var rejectedStage = Assert.Single(app.Spans, s => s.ParentSpanId == bad.SpanId && s.OperationName == InferenceTelemetry.DecodePreprocessActivity);
        Assert.Equal(ActivityStatusCode.Error, rejectedStage.Status);
        Assert.DoesNotContain(app.Spans, s => s.ParentSpanId == bad.SpanId && s.OperationName == InferenceTelemetry.InferenceActivity);

        // Logs: the pipeline's line about the image carries blob, ETag and invocation id as scope properties, once: its own
        // attributes do not repeat them (the exporter would write each name twice).
        CapturedLog classified;
        lock (app.Logs.Logs)
        {
            classified = Assert.Single(app.Logs.Logs, l => l.EventId == 1000 && l.Scopes.TryGetValue("Blob", out var b) && Equals(b, "tel/dog.jpg"));
        }

        Assert.Equal("inv-ok", classified.Scopes["InvocationId"]);
        Assert.Equal(etag, classified.Scopes["ETag"]);
        Assert.Equal(["Label", "Probability", "TotalMs", "DownloadMs", "BatchSize"], classified.AttributeKeys);
    }

    [Fact]
    public async Task A_storage_fault_counts_as_failed_with_reason_error_and_marks_the_span()
    {
        await using var app = await StartAsync();
        var storage = app.Services.GetRequiredService<PipelineStorage>();
        await storage.Results.DeleteAsync(); // the claim cannot be written: a real RequestFailedException from Azurite

        await Assert.ThrowsAsync<Azure.RequestFailedException>(() => UploadAndTriggerAsync(app, "tel/fault.png", TestImages.GeneratedPng(5), "inv-fault"));
        app.Flush();

        var failed = app.Metric(PipelineTelemetry.FailedMetric);
        Assert.Equal(1, Sum(failed, PipelineTelemetry.ReasonTag, "error"));
        Assert.Equal(1, Sum(failed, PipelineTelemetry.ErrorTypeTag, typeof(Azure.RequestFailedException).FullName));
        Assert.DoesNotContain(app.Metrics, m => m.Name == PipelineTelemetry.ProcessedMetric && Sum(m) > 0);
        var span = Assert.Single(app.Spans, s => s.OperationName == PipelineTelemetry.ProcessActivity && Equals(s.GetTagItem(PipelineTelemetry.BlobTag), "tel/fault.png"));
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("error", span.GetTagItem(PipelineTelemetry.OutcomeTag));
    }
}
