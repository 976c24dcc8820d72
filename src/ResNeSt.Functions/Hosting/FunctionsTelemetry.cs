using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ResNeSt.Pipeline.Diagnostics;

namespace ResNeSt.Functions.Hosting;

/// <summary>Where the worker's traces, metrics and logs go.</summary>
public enum TelemetryExporter
{
    /// <summary>Nothing is exported: no Application Insights and no <c>Telemetry__Console=true</c> (the default locally).</summary>
    None,

    /// <summary>
    /// Spans, metrics and log records printed by the console exporter, only when asked for (<c>Telemetry__Console=true</c>):
    /// under the Functions host every line of the worker's console becomes a host log entry, so it is off by default.
    /// </summary>
    Console,

    /// <summary><c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (the deployment sets it).</summary>
    AzureMonitor,
}

/// <summary>The exporter decision, read from the app settings the infrastructure provides.</summary>
/// <param name="UseEntraId">
/// <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> says <c>Authorization=AAD</c>: the exporter authenticates with the
/// managed identity (<paramref name="ClientId"/> for a user-assigned one), which Application Insights requires when its
/// local (instrumentation key) authentication is disabled.
/// </param>
public sealed record TelemetrySettings(TelemetryExporter Exporter, string? ConnectionString, bool UseEntraId, string? ClientId)
{
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AuthenticationStringSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
    public const string ConsoleSetting = "Telemetry:Console";

    public static TelemetrySettings FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = configuration[ConnectionStringSetting];
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            var console = string.Equals(configuration[ConsoleSetting], "true", StringComparison.OrdinalIgnoreCase);
            return new TelemetrySettings(console ? TelemetryExporter.Console : TelemetryExporter.None, null, false, null);
        }

        // "Authorization=AAD;ClientId=<guid>": the format the Functions host itself reads.
        bool entra = false;
        string? clientId = null;
        foreach (var part in (configuration[AuthenticationStringSetting] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (key, value) = part.IndexOf('=', StringComparison.Ordinal) is var i and > 0 ? (part[..i].Trim(), part[(i + 1)..].Trim()) : (part, "");
            if (key.Equals("Authorization", StringComparison.OrdinalIgnoreCase))
            {
                entra = value.Equals("AAD", StringComparison.OrdinalIgnoreCase);
            }
            else if (key.Equals("ClientId", StringComparison.OrdinalIgnoreCase) && value.Length > 0)
            {
                clientId = value;
            }
        }

        return new TelemetrySettings(TelemetryExporter.AzureMonitor, connectionString, entra, entra ? clientId : null);
    }

    /// <summary>The credential the Azure Monitor exporter uses, or null for the connection string's key alone.</summary>
    public TokenCredential? CreateCredential() => UseEntraId
        ? new ManagedIdentityCredential(ClientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(ClientId))
        : null;
}

/// <summary>OpenTelemetry for the worker: the Functions worker's own spans plus the pipeline's and engine's sources.</summary>
public static class FunctionsTelemetry
{
    /// <summary>
    /// Registers OpenTelemetry tracing, metrics and logging (with scopes, so blob, ETag and invocation id reach every
    /// log record) and the exporter chosen by <see cref="TelemetrySettings.FromConfiguration"/>.
    /// </summary>
    public static IOpenTelemetryBuilder AddResNeStTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        var settings = TelemetrySettings.FromConfiguration(configuration);
        services.AddSingleton(settings);
        var sources = PipelineTelemetry.SourceNames.ToArray();
        var builder = services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            // The redacting processors come before any exporter: a key in a URL never leaves the process.
            .WithTracing(tracing => tracing.AddSource(sources).AddProcessor(new KeyRedactingActivityProcessor()))
            .WithMetrics(metrics => metrics.AddMeter(sources))
            .WithLogging(logging => logging.AddProcessor(new KeyRedactingLogProcessor()), options =>
            {
                options.IncludeScopes = true;
                options.IncludeFormattedMessage = true;
            });

        switch (settings.Exporter)
        {
            case TelemetryExporter.AzureMonitor:
                builder.UseAzureMonitorExporter(options =>
                {
                    options.ConnectionString = settings.ConnectionString;
                    if (settings.CreateCredential() is { } credential)
                    {
                        options.Credential = credential;
                    }
                });
                break;
            case TelemetryExporter.Console:
                // All three signals, as Application Insights would receive them: what one shows, the other gets.
                builder.WithTracing(tracing => tracing.AddConsoleExporter())
                    .WithMetrics(metrics => metrics.AddConsoleExporter())
                    .WithLogging(logging => logging.AddConsoleExporter());
                break;
        }

        return builder;
    }
}
