using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ResNeSt.Pipeline.ModelLoading;

namespace ResNeSt.Pipeline.Hosting;

/// <summary>
/// The one host of the pipeline outside the Functions host: <c>resnest tag</c> and <c>resnest worker</c>, the dev
/// tool's demo, pipeline-bench and load-test, and the tests' harnesses. Same registration as the app
/// (<see cref="PipelineServiceCollectionExtensions.AddClassificationPipeline(Microsoft.Extensions.DependencyInjection.IServiceCollection, IConfiguration, Func{IServiceProvider, ClassifierFactory})"/>:
/// validated options, storage clients, model runtime, start-up warm-up); the caller adds its own services before
/// building. Configuration, later wins: the environment (the app's settings as variables: <c>ImageStorage</c>,
/// <c>Pipeline__*</c>, <c>Model__*</c>, <c>Inference__*</c>, <c>StorageRetry__*</c>), then the <c>settings</c> of <see cref="CreateBuilder"/>,
/// then its <c>overrides</c>.
/// </summary>
public static class PipelineHost
{
    public static HostApplicationBuilder CreateBuilder(
        PipelineSettings settings,
        IEnumerable<KeyValuePair<string, string?>>? overrides = null,
        Func<IServiceProvider, ClassifierFactory>? classifierFactory = null,
        bool readEnvironment = true)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        if (readEnvironment)
        {
            builder.Configuration.AddEnvironmentVariables();
        }

        builder.Configuration.AddInMemoryCollection(settings.ToConfiguration());
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        // Logs are talk: stderr, so that a command's stdout stays data (`./demo.sh --json | jq`). With scopes: the
        // pipeline's lines about an image leave its blob, ETag and invocation id to them.
        builder.Logging
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = true;
            })
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddClassificationPipeline(builder.Configuration, classifierFactory ?? EngineClassifier.FromServices);
        return builder;
    }

    /// <summary>Builds and starts the host of <see cref="CreateBuilder"/> with the production engine.</summary>
    public static async Task<IHost> StartAsync(PipelineSettings settings, CancellationToken cancellationToken)
    {
        var host = CreateBuilder(settings).Build();
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}
