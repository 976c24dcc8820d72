using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ResNeSt.Cli.Worker;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.Results;
using ResNeSt.TestSupport;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary>
/// The CLI's hosts run what the app runs: the pipeline's registrations (services, options bindings and validators,
/// start-up checks) are all there and none is replaced. The app's side is checked in the Functions tests (AppSetupTests).
/// </summary>
public sealed class PipelineWiringTests
{
    private static readonly PipelineSettings s_settings = new() { StorageConnection = "UseDevelopmentStorage=true", ModelPath = "model.onnx" };

    [Fact]
    public void Tag_and_the_dev_tools_host_register_the_pipeline_as_the_app_does() =>
        Assert.Empty(PipelineRegistrations.Differences(PipelineRegistrations.Reference(), PipelineHost.CreateBuilder(s_settings).Services));

    [Fact]
    public void The_worker_registers_the_pipeline_as_the_app_does()
    {
        var builder = WorkerCommand.CreateBuilder(
            "UseDevelopmentStorage=true", "model.onnx", Path.Combine(AppContext.BaseDirectory, "host.json"), new WorkerOptions(), auditPath: null);
        Assert.Empty(PipelineRegistrations.Differences(PipelineRegistrations.Reference(), builder.Services));
    }

    [Fact]
    public void A_host_that_skips_an_options_validator_or_replaces_a_service_is_told_apart()
    {
        var unvalidated = PipelineHost.CreateBuilder(s_settings).Services;
        unvalidated.RemoveAll<IValidateOptions<PipelineOptions>>();
        Assert.Contains(PipelineRegistrations.Differences(PipelineRegistrations.Reference(), unvalidated), d => d.Contains("IValidateOptions", StringComparison.Ordinal));

        var replaced = PipelineHost.CreateBuilder(s_settings).Services;
        replaced.AddSingleton<ResultStore>(_ => throw new InvalidOperationException("not the pipeline's store"));
        Assert.Contains(PipelineRegistrations.Differences(PipelineRegistrations.Reference(), replaced), d => d.Contains("ResultStore resolves to", StringComparison.Ordinal));
    }
}
