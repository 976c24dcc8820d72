using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace ResNeSt.Functions.Hosting;

/// <summary>
/// Writes to the worker's standard error the log records that the Functions host would not show: those without the
/// <see cref="InvocationScopeKey"/> scope. The worker forwards a record over gRPC with its invocation id only when that
/// key is in scope (<c>GrpcFunctionsHostLogWriter</c>); the host drops the others from its console. That covers every
/// record outside an invocation (model loaded or failed, warm-up, storage set-up), and, with the OpenTelemetry schema
/// 1.37 that <c>UseFunctionsWorkerDefaults</c> selects, every record inside one as well: that schema's invocation scope
/// has <c>faas.invocation_id</c> instead of the key (Azure/azure-functions-dotnet-worker#3489), so without this
/// provider no line of the app would reach <c>func start</c> or the container's log stream. Records that do carry
/// the key are left to the host, which prints them, so no line is printed twice whichever way the worker goes.
/// The host prints the worker's standard streams as <c>Host.Function.Console</c> (host.json lets it through at
/// Information). Checked in the real host: <c>ProblemLogTests</c> finds an in-invocation failure line there once.
/// </summary>
public sealed class OutOfInvocationConsoleLoggerProvider(TextWriter writer) : ILoggerProvider, ISupportExternalScope
{
    /// <summary>The invocation scope key by which the worker decides to forward a record to the host.</summary>
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
