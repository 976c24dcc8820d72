using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Runtime;

namespace ResNeSt.Inference.Tests.Runtime;

public sealed class InferenceOptionsBindingTests
{
    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddInferenceOptions(configuration.GetSection(InferenceOptions.SectionName));
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Binds_the_Inference_section()
    {
        using var provider = Services(new()
        {
            ["Inference:ExecutionProvider"] = "cuda",
            ["Inference:CudnnConvAlgorithmSearch"] = "heuristic",
            ["Inference:MaxBatchSize"] = "16",
            ["Inference:MaxBatchDelay"] = "00:00:00.010",
            ["Inference:QueueCapacity"] = "128",
            ["Inference:GpuMemoryLimitBytes"] = "4294967296",
        });
        var options = provider.GetRequiredService<IOptions<InferenceOptions>>().Value;
        Assert.Equal(ExecutionProviderPreference.Cuda, options.ExecutionProvider);
        Assert.Equal(CudnnConvAlgorithmSearch.Heuristic, options.CudnnConvAlgorithmSearch);
        Assert.Equal(16, options.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(10), options.MaxBatchDelay);
        Assert.Equal(4L << 30, options.GpuMemoryLimitBytes);
    }

    [Fact]
    public void Refuses_invalid_settings_naming_each_problem()
    {
        using var provider = Services(new()
        {
            ["Inference:MaxBatchSize"] = "64",
            ["Inference:QueueCapacity"] = "8",
            ["Inference:IntraOpThreads"] = "-1",
        });
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<InferenceOptions>>().Value);
        Assert.Contains(ex.Failures, f => f.Contains(nameof(InferenceOptions.QueueCapacity), StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains(nameof(InferenceOptions.IntraOpThreads), StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains(nameof(InferenceOptions.CudaPaddedBatchSizes), StringComparison.Ordinal));
    }
}
