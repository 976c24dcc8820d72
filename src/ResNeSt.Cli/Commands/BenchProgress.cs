using System.Globalization;
using ResNeSt.Inference.Runtime;

namespace ResNeSt.Cli.Commands;

/// <summary>
/// <c>resnest bench</c>'s progress on stderr: one line as each of its three timed phases starts (with the rate of the
/// one before), so a run of minutes is not silent and stdout stays the one JSON summary.
/// </summary>
internal sealed class BenchProgress
{
    private readonly TextWriter _error;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private string? _current;

    public BenchProgress(TextWriter error, InferenceEngine engine, int batch, double seconds)
    {
        _error = error;
        Write($"{engine.Card.Variant} on {engine.ExecutionProvider}, batch {batch}: about {2 * seconds:F0} s in three phases");
    }

    public void Phase(string name, TimeSpan duration, double? previousImagesPerSecond = null)
    {
        Finish(previousImagesPerSecond);
        _current = name;
        Write($"{name} for {duration.TotalSeconds:F0} s...");
    }

    public void Done(double imagesPerSecond) => Finish(imagesPerSecond);

    private void Finish(double? imagesPerSecond)
    {
        if (_current is not null && imagesPerSecond is { } rate)
        {
            Write($"{_current}: {rate:F2} images/s");
        }
    }

    private void Write(string line)
    {
        var elapsed = (DateTimeOffset.UtcNow - _started).TotalSeconds;
        _error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resnest bench [{elapsed,5:F1} s] {line}"));
        _error.Flush();
    }
}
