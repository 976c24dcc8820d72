using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ResNeSt.Pipeline.Hosting;

namespace ResNeSt.Cli.Pipeline;

/// <summary>
/// The Functions app's services (same registration, same options validation, same warm-up) hosted in the CLI, so that
/// <c>resnest tag</c> and <c>resnest demo</c> run exactly what the deployed functions run.
/// </summary>
internal static class LocalPipelineHost
{
    public static async Task<IHost> StartAsync(
        string connectionString,
        string container,
        string modelPath,
        bool tagging,
        int maxBatchSize,
        CancellationToken cancellationToken)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        // The environment supplies the other settings (Pipeline__*, Model__*, Inference__*); the command line wins.
        builder.Configuration.AddEnvironmentVariables();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ImageStorage"] = connectionString,
            ["Pipeline:ImagesContainer"] = container,
            ["Pipeline:TaggingEnabled"] = tagging ? "true" : "false",
            ["Model:Path"] = modelPath,
            ["Inference:MaxBatchSize"] = maxBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
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
        builder.Services.AddClassificationPipeline(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        return host;
    }

    public static T Get<T>(this IHost host) where T : notnull => host.Services.GetRequiredService<T>();
}
