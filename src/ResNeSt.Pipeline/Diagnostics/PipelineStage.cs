using System.Diagnostics;

namespace ResNeSt.Pipeline.Diagnostics;

/// <summary>
/// One timed stage of one image: a child span from start to <see cref="Dispose"/>, and a duration recorded only when
/// the stage <see cref="Complete"/>s (a download that found the blob gone is not a download time).
/// </summary>
public readonly struct PipelineStage : IDisposable
{
    private readonly PipelineTelemetry _telemetry;
    private readonly string _stage;
    private readonly Activity? _activity;
    private readonly long _started;

    internal PipelineStage(PipelineTelemetry telemetry, string activityName, string stage)
    {
        _telemetry = telemetry;
        _stage = stage;
        _activity = PipelineTelemetry.ActivitySource.StartActivity(activityName);
        _started = Stopwatch.GetTimestamp();
    }

    public void SetTag(string key, object? value) => _activity?.SetTag(key, value);

    public void Complete() => _telemetry.Stage(_stage, Stopwatch.GetElapsedTime(_started).TotalMilliseconds);

    public void Dispose() => _activity?.Dispose();
}
