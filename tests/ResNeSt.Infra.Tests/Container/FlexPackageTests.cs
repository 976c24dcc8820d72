using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Container;

/// <summary>What `azd deploy` uploads to Flex Consumption: `dotnet publish` of the Functions project, no arguments.</summary>
public sealed class FlexPackageTests : IDisposable
{
    private readonly string _output = Directory.CreateTempSubdirectory("resnest-flex-publish-").FullName;

    [Fact]
    public async Task The_flex_package_ships_the_cpu_onnx_runtime_for_linux_x64_only()
    {
        var publish = await ProcessRunner.RunAsync(
            "dotnet",
            ["publish", "src/ResNeSt.Functions/ResNeSt.Functions.csproj", "--configuration", "Release", "--output", _output, "--nologo"],
            Repository.Root,
            new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["OnnxRuntimeFlavor"] = null },
            TimeSpan.FromMinutes(8));
        Assert.True(publish.ExitCode == 0, publish.Describe());

        var natives = Directory.EnumerateFiles(_output, "libonnxruntime*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_output, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(["runtimes/linux-x64/native/libonnxruntime.so", "runtimes/linux-x64/native/libonnxruntime_providers_shared.so"], natives);
        Assert.Equal(["linux-x64"], Directory.EnumerateDirectories(Path.Combine(_output, "runtimes")).Select(Path.GetFileName));
        // The CPU build is ~29 MB; the CUDA build's provider alone is ~280 MB.
        Assert.True(new FileInfo(Path.Combine(_output, "runtimes/linux-x64/native/libonnxruntime.so")).Length < 60_000_000);
    }

    public void Dispose() => Directory.Delete(_output, recursive: true);
}
