using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ResNeSt.TestSupport;

namespace ResNeSt.Pipeline.Tests;

/// <summary>
/// The pipeline's lines about one image leave its blob, ETag and invocation id to the scopes they are logged in
/// (exported as attributes, so a repeat would be a second attribute of the same name), and quote a rejection's reason
/// as the sentence it is.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class PipelineLogTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_rejected_upload_is_logged_with_its_reason_once_and_its_blob_etag_and_invocation_in_the_scopes()
    {
        var capture = new CapturingLoggerProvider();
        await using var harness = await PipelineHarness.StartAsync(
            azurite, configureServices: services => services.AddSingleton<ILoggerProvider>(capture));
        var blob = await harness.UploadAsync("logs/empty.jpg", []);
        var etag = (await blob.GetPropertiesAsync()).Value.ETag.ToString();

        await harness.Pipeline.ProcessAsync(blob, "inv-log", default);

        var rejected = Assert.Single(capture.Records, r => r.EventId == 1001);
        Assert.Equal("Rejected (empty): The blob is empty. Recorded as failed; not retried.", rejected.Message);
        Assert.Equal(["Code", "Reason"], rejected.Properties);
        Assert.Equal("logs/empty.jpg", rejected.Scopes["Blob"]);
        Assert.Equal("inv-log", rejected.Scopes["InvocationId"]);
        Assert.Equal(etag, rejected.Scopes["ETag"]);
    }

    private sealed record Record(int EventId, string Message, IReadOnlyList<string> Properties, IReadOnlyDictionary<string, object?> Scopes);

    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private readonly List<Record> _records = [];
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public IReadOnlyList<Record> Records
        {
            get
            {
                lock (_records)
                {
                    return [.. _records];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs
                    ? pairs.Select(p => p.Key).Where(k => k != "{OriginalFormat}").ToList()
                    : [];
                var scopes = new Dictionary<string, object?>(StringComparer.Ordinal);
                owner._scopes.ForEachScope(
                    static (scope, values) =>
                    {
                        if (scope is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                        {
                            foreach (var (key, value) in scopePairs.Where(p => p.Key != "{OriginalFormat}"))
                            {
                                values[key] = value;
                            }
                        }
                    },
                    scopes);
                lock (owner._records)
                {
                    owner._records.Add(new Record(eventId.Id, formatter(state, exception), properties, scopes));
                }
            }
        }
    }
}
