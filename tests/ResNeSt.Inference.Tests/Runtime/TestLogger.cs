using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ResNeSt.Inference.Tests.Runtime;

/// <summary>Collects log entries so tests can check what the engine said (a real ILogger, not a mock of a component).</summary>
internal sealed class TestLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId, formatter(state, exception)));
}
