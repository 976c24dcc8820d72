using Microsoft.Extensions.Logging;
using ResNeSt.Inference.Runtime;

namespace ResNeSt.Inference.Diagnostics;

/// <summary>Logs the driver found before the CUDA provider is loaded, and refuses one it cannot run on.</summary>
internal static partial class CudaDriverCheck
{
    public static void Ensure(CudaDriver driver, ILogger logger)
    {
        DriverFound(logger, driver.CudaVersionText, driver.KernelModuleVersion ?? "unknown");
        if (driver.FailureCode is { } code)
        {
            // Short: on a CPU machine with the provider on auto this is the one line that explains the fallback
            // (docs/deploy.md, "CUDA driver", says what to do).
            throw new CudaDriverUnsuitableException(
                code,
                driver.CudaVersion is null
                    ? "no NVIDIA driver found; CUDA 13 (driver 580+) is needed"
                    : $"the NVIDIA driver supports CUDA {driver.CudaVersionText}; CUDA 13 (driver 580+) is needed");
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "NVIDIA driver: CUDA {CudaVersion}, kernel module {KernelModuleVersion}")]
    private static partial void DriverFound(ILogger logger, string cudaVersion, string kernelModuleVersion);
}
