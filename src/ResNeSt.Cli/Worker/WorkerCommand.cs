using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Runtime;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.ModelLoading;

namespace ResNeSt.Cli.Worker;

/// <summary>
/// <c>resnest worker</c>: the Functions app's batch-queue functions on this machine, without the Functions host.
/// Same services and registration as the app (<see cref="PipelineHost"/>),
/// the queue trigger's delivery rules from the app's <c>host.json</c>. Settings as for the app: <c>ImageStorage</c>,
/// <c>Pipeline__*</c>, <c>Model__*</c>, <c>Inference__*</c>, <c>StorageRetry__*</c>, <c>AzureFunctionsJobHost__*</c>.
/// </summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var connection = StorageConnection.Option();
        var model = new Option<FileInfo?>("--model") { Description = "The ONNX model file (or set Model__BlobName and Model__Sha256)." };
        var hostJson = new Option<FileInfo>("--host-json")
        {
            Description = "The Functions app's host.json (queue trigger settings, functionTimeout).",
            DefaultValueFactory = _ => new FileInfo(Path.Combine(AppContext.BaseDirectory, "host.json")),
        };
        hostJson.AcceptExistingOnly();
        var lease = new Option<TimeSpan>("--lease")
        {
            Description = "How long a received message stays invisible while processed (renewed every half); the Functions host uses 10 minutes.",
            DefaultValueFactory = _ => TimeSpan.FromMinutes(10),
        };
        var drain = new Option<bool>("--drain") { Description = "Exit once the batch queue and its poison queue are empty and nothing is in flight." };
        var audit = new Option<FileInfo?>("--audit") { Description = "Append one line per classification (pid, message id, delivery, blob) to this file." };
        var command = new Command("worker", "Run the batch-tagging queue functions (classify queue + poison queue) with the Functions host's delivery rules.")
        {
            connection, model, hostJson, lease, drain, audit,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetRequiredValue(connection),
            parse.GetValue(model)?.FullName,
            parse.GetRequiredValue(hostJson).FullName,
            new WorkerOptions { Lease = parse.GetValue(lease), Drain = parse.GetValue(drain) },
            parse.GetValue(audit)?.FullName,
            parse.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(
        string connection, string? model, string hostJson, WorkerOptions worker, string? auditPath, TextWriter error, CancellationToken cancellationToken)
    {
        if (await StorageConnection.IsMissingAsync("worker", connection, error).ConfigureAwait(false))
        {
            return 2;
        }

        using var host = Build(connection, model, hostJson, worker, auditPath);
        try
        {
            await host.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OptionsValidationException ex)
        {
            await error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }

        return 0;
    }

    /// <summary>The worker's host: the app's pipeline registration plus the queue trigger emulation.</summary>
    public static IHost Build(
        string connection, string? model, string hostJson, WorkerOptions worker, string? auditPath,
        IReadOnlyDictionary<string, string?>? overrides = null) =>
        CreateBuilder(connection, model, hostJson, worker, auditPath, overrides).Build();

    /// <summary>The builder of <see cref="Build"/> (tests compare its registrations with the app's).</summary>
    public static HostApplicationBuilder CreateBuilder(
        string connection, string? model, string hostJson, WorkerOptions worker, string? auditPath,
        IReadOnlyDictionary<string, string?>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(worker);
        // The command line wins over the environment (Pipeline__*, Model__*, Inference__*, StorageRetry__*).
        var builder = PipelineHost.CreateBuilder(
            new PipelineSettings { StorageConnection = connection, ModelPath = model },
            overrides,
            services =>
            {
                var engine = EngineClassifier.FromServices(services);
                var audit = services.GetService<ClassificationAudit>();
                return audit is null ? engine : model => new AuditingClassifier(engine(model), audit);
            });
        builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ");
        builder.Logging.AddFilter("ResNeSt.Cli.Worker", LogLevel.Information);

        // host.json, then the host's own override mechanism (app settings AzureFunctionsJobHost__path__to__setting).
        var hostConfiguration = new ConfigurationBuilder()
            .AddJsonFile(hostJson, optional: false)
            .AddEnvironmentVariables("AzureFunctionsJobHost__")
            .Build();
        builder.Services.AddValidatedOptions<HostQueueOptions, HostQueueOptionsValidator>(hostConfiguration.GetSection("extensions:queues"));
        builder.Services.AddValidatedOptions<WorkerOptions, WorkerOptionsValidator>()
            .Configure(o =>
            {
                o.Lease = worker.Lease;
                o.Drain = worker.Drain;
                if (hostConfiguration["functionTimeout"] is { Length: > 0 } functionTimeout)
                {
                    o.FunctionTimeout = TimeSpan.Parse(functionTimeout, System.Globalization.CultureInfo.InvariantCulture);
                }
            });
        builder.Services.AddSingleton<IValidateOptions<WorkerOptions>, WorkerLeaseValidator>();

        if (auditPath is not null)
        {
            builder.Services.AddSingleton(_ => new ClassificationAudit(auditPath)); // disposed (closed) with the host
        }

        builder.Services.AddHostedService<QueueWorker>();
        return builder;
    }
}
