using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Hosting;

/// <summary>
/// Runs before the host reports started: creates missing storage resources (local runs) and loads and warms the
/// model, so the first invocation does not pay for it. A failed warm-up is logged and reported by the health
/// endpoint; invocations retry the load themselves.
/// </summary>
internal sealed class PipelineStartup(
    PipelineStorage storage,
    ModelRuntime model,
    IOptions<PipelineOptions> options,
    ILogger<PipelineStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.EnsureStorageResources)
        {
            await storage.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await model.WarmUpAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            PipelineLog.WarmUpFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
