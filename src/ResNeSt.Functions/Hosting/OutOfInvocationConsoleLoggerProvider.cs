using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace ResNeSt.Functions.Hosting;

/// <summary>
/// Writes the worker's log records that belong to no function invocation (model loaded, model load failed, warm-up,
/// storage set-up) to the worker's standard error. The Functions host forwards worker records over gRPC only when
/// they carry an invocation id and drops the others from its console, so without this a broken model at start-up
/// would be invisible in <c>func start</c> and in the container's log stream. The host prints the worker's standard
/// streams as <c>Host.Function.Console</c> (host.json lets it through at Information). Records inside an invocation
/// are left to the host, which already prints them, so nothing is printed twice.
/// </summary>
public sealed class OutOfInvocationConsoleLoggerProvider(TextWriter writer) : ILoggerProvider, ISupportExternalScope
{
    /// <summary>The scope key the worker sets for the duration of each invocation.</summary>
    public const string InvocationScopeKey = "AzureFunctions_InvocationId";

    private readonly ConcurrentDictionary<string, Logger> _loggers = new(StringComparer.Ordinal);
    private readonly TextWriter _writer = writer;
    private readonly Lock _write = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public OutOfInvocationConsoleLoggerProvider()
        : this(Console.Error)
    {
    }

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, name => new Logger(name, this));

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() => _loggers.Clear();

    private bool InInvocation()
    {
        var found = new StrongBox<bool>();
        _scopes.ForEachScope(
            static (scope, box) => box.Value |= scope is IEnumerable<KeyValuePair<string, object?>> pairs && pairs.Any(p => p.Key == InvocationScopeKey),
            found);
        return found.Value;
    }

    private void Write(string line)
    {
        lock (_write)
        {
            _writer.WriteLine(line);
            _writer.Flush();
        }
    }

    private sealed class Logger(string category, OutOfInvocationConsoleLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (!IsEnabled(logLevel) || provider.InInvocation())
            {
                return;
            }

            // One line a record (the host logs each line of the stream as one entry); the exception's type and message,
            // not its stack, which the telemetry exporter keeps.
            var line = $"{Level(logLevel)}: {category}[{eventId.Id}] {formatter(state, exception)}"
                + (exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})");
            provider.Write(line.ReplaceLineEndings(" "));
        }

        private static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
    }
}
