using ResNeSt.Inference.Diagnostics;
using ResNeSt.Inference.Runtime;
using ResNeSt.TestSupport;

namespace ResNeSt.Inference.Tests.Diagnostics;

public sealed class CudaDriverTests
{
    [Theory]
    [InlineData(13000, null)]
    [InlineData(13010, null)]
    [InlineData(12080, "cuda_driver_too_old")]
    [InlineData(null, "cuda_driver_not_found")]
    public void A_driver_below_cuda_13_or_none_at_all_gets_its_own_failure_code(int? cudaVersion, string? expected) =>
        Assert.Equal(expected, new CudaDriver(cudaVersion, "580.82.07").FailureCode);

    [Fact]
    public void The_kernel_module_version_is_read_from_the_proc_file_format()
    {
        const string proc = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.82.07  Release Build  (dvs-builder@U16-I2-C03-12-4)  Wed Aug 27 2025\nGCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n";
        Assert.Equal("580.82.07", CudaDriver.ParseKernelModuleVersion(proc));
        Assert.Equal("570.86.15", CudaDriver.ParseKernelModuleVersion("NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.86.15  Thu Jan 30 2025\n"));
        Assert.Null(CudaDriver.ParseKernelModuleVersion("garbage"));
        Assert.Equal("12.8", new CudaDriver(12080, null).CudaVersionText);
    }

    [Fact]
    public void Probing_a_machine_never_throws()
    {
        var driver = CudaDriver.Probe();
        Assert.True(driver.CudaVersion is null or > 0);
    }

    [Fact]
    public void Cuda_demanded_on_a_machine_without_a_suitable_driver_names_the_driver_as_the_cause()
    {
        var driver = CudaDriver.Probe();
        if (driver.FailureCode is null)
        {
            return; // a machine with a CUDA 13 driver: nothing to refuse
        }

        var options = new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Cuda };
        var ex = Assert.Throws<ExecutionProviderUnavailableException>(() => InferenceEngine.Load(TinyModel.WithCard().Bytes, options));
        var cause = Assert.IsType<CudaDriverUnsuitableException>(ex.InnerException);
        Assert.Equal(driver.FailureCode, cause.FailureCode);
        Assert.Contains("CUDA 13", cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_falls_back_to_cpu_when_the_driver_is_unsuitable()
    {
        if (CudaDriver.Probe().FailureCode is null)
        {
            return;
        }

        using var engine = InferenceEngine.Load(TinyModel.WithCard().Bytes, new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Auto });
        Assert.Equal(InferenceEngine.CpuProviderName, engine.ExecutionProvider);
    }
}
