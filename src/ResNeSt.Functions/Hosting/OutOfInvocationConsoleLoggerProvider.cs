using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
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
/// One line a record, the app's own scopes after the text (blob, invocation, ETag: the messages leave those to the
/// scopes). The host prints the worker's standard streams as <c>Host.Function.Console</c> (host.json lets it through
/// at Information). Checked in the real host: <c>ConsoleLogTests</c> and <c>ProblemLogTests</c>.
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
            // not its stack, which the telemetry exporter keeps; then the app's own scopes, as the resnest worker's
            // console prints them ("=> Blob … (invocation …) => ETag …"): the message leaves the blob to the scope.
            var line = new StringBuilder()
                .Append(Level(logLevel)).Append(": ").Append(category).Append('[').Append(eventId.Id).Append("] ")
                .Append(formatter(state, exception));
            if (exception is not null)
            {
                line.Append(" (").Append(exception.GetType().Name).Append(": ").Append(exception.Message).Append(')');
            }

            provider._scopes.ForEachScope(AppendMessageScope, line);
            provider.Write(line.ToString().ReplaceLineEndings(" "));
        }

        // Scopes made by LoggerMessage.DefineScope (a message template, "{OriginalFormat}" last): the app's. The others
        // (the worker's invocation scope, the activity ids) are key lists meant for the exporters.
        private static void AppendMessageScope(object? scope, StringBuilder line)
        {
            if (scope is IReadOnlyList<KeyValuePair<string, object?>> { Count: > 0 } pairs && pairs[^1].Key == "{OriginalFormat}")
            {
                line.Append(" => ").Append(scope);
            }
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
