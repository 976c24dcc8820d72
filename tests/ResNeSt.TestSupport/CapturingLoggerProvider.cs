using System.Text;
using Microsoft.Extensions.Logging;

namespace ResNeSt.TestSupport;

/// <summary>One log call as a provider sees it: event, message text, its own properties and those of the scopes around it.</summary>
public sealed record CapturedLogRecord(
    string Category,
    LogLevel Level,
    int EventId,
    string Message,
    Exception? Exception,
    IReadOnlyList<string> Properties,
    IReadOnlyDictionary<string, object?> Scopes,
    string Line);

/// <summary>
/// A logger provider that keeps every record, for tests of what the code logs: the structured view (properties apart
/// from scopes, as an exporter sees them) and the line a console would print (category, message, then each scope).
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private const string OriginalFormat = "{OriginalFormat}";
    private readonly List<CapturedLogRecord> _records = [];
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<CapturedLogRecord> Records
    {
        get
        {
            lock (_records)
            {
                return [.. _records];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string message = formatter(state, exception);
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.Select(p => p.Key).Where(k => k != OriginalFormat).ToList()
                : [];
            var scopes = new Dictionary<string, object?>(StringComparer.Ordinal);
            var line = new StringBuilder(category).Append(": ").Append(message);
            owner._scopes.ForEachScope(
                static (scope, into) =>
                {
                    into.Line.Append(" | ").Append(scope);
                    if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                    {
                        foreach (var (key, value) in scopePairs.Where(p => p.Key != OriginalFormat))
                        {
                            into.Scopes[key] = value;
                        }
                    }
                },
                (Line: line, Scopes: scopes));
            lock (owner._records)
            {
                owner._records.Add(new CapturedLogRecord(category, logLevel, eventId.Id, message, exception, properties, scopes, line.ToString()));
            }
        }
    }
}
