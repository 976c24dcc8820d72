using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace ResNeSt.Inference.Diagnostics;

/// <summary>
/// The NVIDIA driver this process sees: the CUDA version its libcuda supports (<c>cuDriverGetVersion</c>, e.g. 13000
/// for 13.0) and the kernel module version from <c>/proc/driver/nvidia/version</c>. Read without nvidia-smi, which
/// the serverless GPU containers do not have. Either is null when it cannot be read.
/// </summary>
public sealed partial record CudaDriver(int? CudaVersion, string? KernelModuleVersion)
{
    /// <summary>ONNX Runtime 1.31's CUDA provider is built for CUDA 13 (driver 580 or later).</summary>
    public const int RequiredCudaVersion = 13000;

    private const string KernelModuleVersionFile = "/proc/driver/nvidia/version";

    /// <summary>Null when the driver is usable; otherwise the code health reports.</summary>
    public string? FailureCode => CudaVersion switch
    {
        null => "cuda_driver_not_found",
        < RequiredCudaVersion => "cuda_driver_too_old",
        _ => null,
    };

    /// <summary>The CUDA version as major.minor, or "none".</summary>
    public string CudaVersionText => CudaVersion is { } v ? $"{v / 1000}.{v % 1000 / 10}" : "none";

    /// <summary>Reads this machine's driver. Never throws: a machine without NVIDIA driver gives nulls.</summary>
    public static CudaDriver Probe() => new(ReadCudaVersion(), ReadKernelModuleVersion());

    /// <summary>The version in the first line of /proc/driver/nvidia/version ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.82.07  ...").</summary>
    public static string? ParseKernelModuleVersion(string text)
    {
        var match = KernelModule().Match(text);
        return match.Success ? match.Groups[1].Value : null;
    }

    private static string? ReadKernelModuleVersion()
    {
        try
        {
            return File.Exists(KernelModuleVersionFile) ? ParseKernelModuleVersion(File.ReadAllText(KernelModuleVersionFile)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? ReadCudaVersion()
    {
        try
        {
            return NativeMethods.cuDriverGetVersion(out var version) == 0 && version > 0 ? version : null;
        }
        catch (DllNotFoundException)
        {
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)")]
    private static partial Regex KernelModule();

    private static partial class NativeMethods
    {
        // The driver API itself (libcuda.so.1 is mounted by the container runtime); no toolkit library is involved.
        [LibraryImport("libcuda.so.1")]
        internal static partial int cuDriverGetVersion(out int driverVersion);
    }
}
