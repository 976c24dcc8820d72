using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ResNeSt.Inference.Diagnostics;

/// <summary>
/// Metrics and spans of the inference engine, on the BCL's <see cref="Meter"/> and <see cref="ActivitySource"/> only:
/// a host that listens (OpenTelemetry in the Functions app, a listener in tests) sees them, anyone else pays a null
/// check. The engine and batcher are built without dependency injection, hence one static meter per process.
/// </summary>
public static class InferenceTelemetry
{
    /// <summary>The <see cref="Meter"/> and <see cref="ActivitySource"/> name to subscribe to.</summary>
    public const string Name = "ResNeSt.Inference";

    public const string BatchSizeMetric = "resnest.inference.batch.size";
    public const string QueueWaitMetric = "resnest.inference.queue_wait.duration";
    public const string RunDurationMetric = "resnest.inference.run.duration";
    public const string ModelLoadMetric = "resnest.model.load.duration";

    public const string DecodePreprocessActivity = "resnest.decode_preprocess";
    public const string InferenceActivity = "resnest.inference";

    public const string ProviderTag = "resnest.execution_provider";
    public const string VariantTag = "resnest.model.variant";
    public const string BatchSizeTag = "resnest.inference.batch_size";
    public const string QueueWaitTag = "resnest.inference.queue_wait_ms";
    public const string ImageFormatTag = "resnest.image.format";
    public const string ImageWidthTag = "resnest.image.width";
    public const string ImageHeightTag = "resnest.image.height";
    public const string RejectionTag = "resnest.image.rejection";

    // Seconds, as OpenTelemetry's conventions ask; the default buckets are meant for milliseconds, hence the advice.
    private static readonly IReadOnlyList<double> s_secondsBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    private static readonly Meter s_meter = new(Name, typeof(InferenceTelemetry).Assembly.GetName().Version?.ToString());

    public static ActivitySource ActivitySource { get; } = new(Name, typeof(InferenceTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Images per model run (padding excluded), one measurement per run.</summary>
    internal static Histogram<int> BatchSize { get; } = s_meter.CreateHistogram(
        BatchSizeMetric, "{image}", "Images in one model run (padding excluded).",
        tags: null, advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });

    /// <summary>Per image: from ready in its batch slot to its batch starting to run.</summary>
    internal static Histogram<double> QueueWait { get; } = Seconds(QueueWaitMetric, "Time an image waited in the batcher for its batch to run.");

    /// <summary>Per run: the model's Run over the whole batch.</summary>
    internal static Histogram<double> RunDuration { get; } = Seconds(RunDurationMetric, "Duration of one model run over a batch.");

    /// <summary>Per load: reading, hashing, session creation, contract checks and warm-up.</summary>
    internal static Histogram<double> ModelLoad { get; } = Seconds(ModelLoadMetric, "Time to load, verify and warm up a model.");

    /// <summary>
    /// A span that already happened (the batched run is shared by many images and timed on the batcher's thread):
    /// started and ended retroactively under the caller's current activity.
    /// </summary>
    internal static void RecordInferenceSpan(long runEndedTimestamp, double inferenceMs, double queueWaitMs, int batchSize, string provider)
    {
        if (!ActivitySource.HasListeners())
        {
            return;
        }

        var ended = DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(runEndedTimestamp);
        using var activity = ActivitySource.StartActivity(
            InferenceActivity, ActivityKind.Internal, parentContext: default, tags: null, links: null, startTime: ended - TimeSpan.FromMilliseconds(inferenceMs));
        if (activity is null)
        {
            return;
        }

        activity.SetTag(BatchSizeTag, batchSize);
        activity.SetTag(QueueWaitTag, queueWaitMs);
        activity.SetTag(ProviderTag, provider);
        activity.SetEndTime(ended.UtcDateTime);
    }

    private static Histogram<double> Seconds(string name, string description) =>
        s_meter.CreateHistogram(name, "s", description, tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_secondsBuckets });
}
