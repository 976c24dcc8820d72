using System.Text;
using ResNeSt.Inference.Classification;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Cli.Worker;

/// <summary>
/// An append-only record of every image the worker hands to the engine: one line per classification with the
/// process id, the queue message id, its dequeue count and the blob name. Each line is written (one write call)
/// before the image enters the batcher, so it survives a SIGKILL a moment later: the file over-counts at worst,
/// which is the safe side for "how often was this blob classified".
/// </summary>
internal sealed class ClassificationAudit(string path) : IDisposable
{
    private static readonly AsyncLocal<Delivery?> s_current = new();
    private readonly FileStream _file = new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
    private readonly Lock _lock = new();
    private readonly int _processId = Environment.ProcessId;

    private sealed record Delivery(string Blob, string MessageId, long DequeueCount);

    /// <summary>Marks the current async flow as handling <paramref name="blob"/> from one queue delivery.</summary>
    public static Scope Begin(string blob, string messageId, long dequeueCount)
    {
        var previous = s_current.Value;
        s_current.Value = new Delivery(blob, messageId, dequeueCount);
        return new Scope(previous);
    }

    /// <summary>Restores the flow's previous delivery.</summary>
    public readonly struct Scope(object? previous) : IDisposable
    {
        public void Dispose() => s_current.Value = (Delivery?)previous;
    }

    /// <summary>Records a classification of the current delivery's blob (the warm-up image has none and is not recorded).</summary>
    public void Record()
    {
        if (s_current.Value is not { } delivery)
        {
            return;
        }

        var line = Encoding.UTF8.GetBytes(FormattableString.Invariant(
            $"{_processId}\t{delivery.MessageId}\t{delivery.DequeueCount}\t{Uri.EscapeDataString(delivery.Blob)}\n"));
        lock (_lock)
        {
            _file.Write(line);
        }
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>The engine, recording each image in the <see cref="ClassificationAudit"/> before classifying it.</summary>
internal sealed class AuditingClassifier(IImageClassifier inner, ClassificationAudit audit) : IImageClassifier, IAsyncDisposable
{
    public ModelCard Model => inner.Model;

    public string ExecutionProvider => inner.ExecutionProvider;

    public Task<ClassificationResult> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default)
    {
        audit.Record();
        return inner.ClassifyAsync(encodedImage, cancellationToken);
    }

    public ValueTask DisposeAsync() => ClassifierLifetime.DisposeAsync(inner);
}
