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
            throw new CudaDriverUnsuitableException(
                code,
                $"The NVIDIA driver supports CUDA {driver.CudaVersionText} (kernel module {driver.KernelModuleVersion ?? "unknown"}); "
                + "ONNX Runtime's CUDA provider needs CUDA 13 (driver 580 or later). See docs/deploy.md, CUDA driver.");
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "NVIDIA driver: CUDA {CudaVersion}, kernel module {KernelModuleVersion}")]
    private static partial void DriverFound(ILogger logger, string cudaVersion, string kernelModuleVersion);
}
