using System.Diagnostics;
using System.Diagnostics.Metrics;
using ResNeSt.Inference.Diagnostics;

namespace ResNeSt.Pipeline.Diagnostics;

/// <summary>
/// The pipeline's metrics (through the host's <see cref="IMeterFactory"/>, so each host — and each test — owns its
/// instruments) and its spans: one <see cref="ProcessActivity"/> per delivered blob, with a child per stage.
/// Only System.Diagnostics types: the Functions app decides whether and where they are exported.
/// </summary>
public sealed class PipelineTelemetry : IDisposable
{
    /// <summary>The <see cref="Meter"/> and <see cref="ActivitySource"/> name to subscribe to.</summary>
    public const string Name = "ResNeSt.Pipeline";

    public const string ProcessedMetric = "resnest.images.processed";
    public const string FailedMetric = "resnest.images.failed";
    public const string SkippedMetric = "resnest.images.skipped";
    public const string StageDurationMetric = "resnest.pipeline.stage.duration";

    public const string ProcessActivity = "resnest.process_blob";
    public const string DownloadActivity = "resnest.download";
    public const string StoreActivity = "resnest.store";
    public const string TagActivity = "resnest.tag";

    public const string ReasonTag = "resnest.reason";
    public const string StageTag = "resnest.stage";
    public const string OutcomeTag = "resnest.outcome";
    public const string ContainerTag = "resnest.blob.container";
    public const string BlobTag = "resnest.blob.name";
    public const string ETagTag = "resnest.blob.etag";
    public const string SizeTag = "resnest.blob.size";
    public const string InvocationTag = "faas.invocation_id";
    public const string ErrorTypeTag = "error.type";

    /// <summary>Stage names of <see cref="StageDurationMetric"/>.</summary>
    public static class Stages
    {
        public const string Download = "download";
        public const string DecodePreprocess = "decode_preprocess";
        public const string Inference = "inference";
        public const string Store = "store";
        public const string Tag = "tag";
    }

    /// <summary>Every meter and activity source of the pipeline and the engine beneath it, for an exporter to subscribe to.</summary>
    public static IReadOnlyList<string> SourceNames { get; } = [Name, InferenceTelemetry.Name];

    public static ActivitySource ActivitySource { get; } = new(Name, typeof(PipelineTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly IReadOnlyList<double> s_secondsBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    private readonly Meter _meter;
    private readonly Counter<long> _processed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _skipped;
    private readonly Histogram<double> _stageDuration;

    public PipelineTelemetry(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(Name, typeof(PipelineTelemetry).Assembly.GetName().Version?.ToString());
        _processed = _meter.CreateCounter<long>(ProcessedMetric, "{image}", "Images classified and stored.");
        _failed = _meter.CreateCounter<long>(FailedMetric, "{image}", "Images that ended as failed (rejected) or whose processing threw (retried by the host), by reason.");
        _skipped = _meter.CreateCounter<long>(SkippedMetric, "{image}", "Deliveries that led to no new result (duplicate, deleted, already classified…), by reason.");
        _stageDuration = _meter.CreateHistogram(
            StageDurationMetric, "s", "Duration of one pipeline stage for one image.",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_secondsBuckets });
    }

    /// <summary>The meter's scope: a listener can tell this host's instruments from another host's in the same process.</summary>
    public Meter Meter => _meter;

    public void Succeeded() => _processed.Add(1);

    /// <summary><paramref name="reason"/>: the rejection code (<c>unsupported_format</c>, <c>too_large</c>…) or <c>error</c> for a thrown fault.</summary>
    public void Failed(string reason, string? errorType = null)
    {
        if (errorType is null)
        {
            _failed.Add(1, new KeyValuePair<string, object?>(ReasonTag, reason));
        }
        else
        {
            _failed.Add(1, new KeyValuePair<string, object?>(ReasonTag, reason), new KeyValuePair<string, object?>(ErrorTypeTag, errorType));
        }
    }

    public void Skipped(string reason) => _skipped.Add(1, new KeyValuePair<string, object?>(ReasonTag, reason));

    public void Stage(string stage, double milliseconds) =>
        _stageDuration.Record(milliseconds / 1000, new KeyValuePair<string, object?>(StageTag, stage));

    /// <summary>Starts the span of one delivery of one blob (<see cref="ProcessActivity"/>), tagged with what it is about.</summary>
    public static Activity? StartProcess(string container, string blobName, string invocationId)
    {
        var activity = ActivitySource.StartActivity(ProcessActivity);
        activity?.SetTag(ContainerTag, container);
        activity?.SetTag(BlobTag, blobName);
        activity?.SetTag(InvocationTag, invocationId);
        return activity;
    }

    /// <summary>Starts the span of one stage; its duration counts once the stage completes.</summary>
    public PipelineStage StartStage(string activityName, string stage) => new(this, activityName, stage);

    /// <summary>Counts how one delivery ended and tags its span.</summary>
    public void Record(Processing.ProcessingOutcome outcome, Activity? activity)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var reason = outcome.Detail ?? "";
        switch (outcome.Kind)
        {
            case Processing.OutcomeKind.Succeeded:
                Succeeded();
                break;
            case Processing.OutcomeKind.Failed:
                Failed(reason);
                break;
            default:
                Skipped(reason);
                break;
        }

        activity?.SetTag(OutcomeTag, outcome.Kind.ToString().ToLowerInvariant());
        activity?.SetTag(ReasonTag, outcome.Detail);
    }

    /// <summary>Counts a delivery that threw (retried by the host) and marks its span as an error.</summary>
    public void Record(Exception exception, Activity? activity)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var type = exception.GetType();
        Failed(exception is OperationCanceledException ? "cancelled" : "error", type.FullName);
        activity?.SetTag(OutcomeTag, "error");
        activity?.SetTag(ErrorTypeTag, type.FullName);
        activity?.SetStatus(ActivityStatusCode.Error, type.Name);
    }

    public void Dispose() => _meter.Dispose();
}
