using System.Reflection;
using System.Text.Json.Nodes;

namespace ResNeSt.Infra.Tests.Infrastructure;

/// <summary>Paths of the repository and of the Bicep CLI, as the build recorded them.</summary>
internal static class Repository
{
    public static string Root { get; } = Metadata("RepoRoot");

    public static string Infra => Path.Combine(Root, "infra");

    public static string MainBicep => Path.Combine(Infra, "main.bicep");

    public static string Hook => Path.Combine(Infra, "hooks", "postdeploy.sh");

    public static string PowerShellHook => Path.Combine(Infra, "hooks", "postdeploy.ps1");

    public static string Dockerfile => Path.Combine(Root, "src", "ResNeSt.Functions", "Dockerfile");

    /// <summary>The Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 package, made executable if extraction lost the bit.</summary>
    public static string Bicep { get; } = PrepareBicep(Metadata("BicepPath"));

    /// <summary>The CUDA execution provider library of the Microsoft.ML.OnnxRuntime.Gpu.Linux package the app ships.</summary>
    public static string OnnxRuntimeCudaProvider => Path.Combine(
        Metadata("OnnxRuntimeGpuPackage"), "runtimes", "linux-x64", "native", "libonnxruntime_providers_cuda.so");

    /// <summary>infra/names.json: the file ResNeSt.Pipeline embeds as ResourceNames.Default.</summary>
    public static JsonNode Names { get; } = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "infra", "names.json")))
        ?? throw new InvalidOperationException("infra/names.json is empty.");

    public static string Name(string path)
    {
        var node = Names;
        foreach (var part in path.Split('.'))
        {
            node = node?[part];
        }

        return node?.GetValue<string>() ?? throw new InvalidOperationException($"names.json has no '{path}'.");
    }

    public static string Read(params string[] relative) => File.ReadAllText(Path.Combine([Root, .. relative]));

    private static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata '{key}' is missing; see ResNeSt.Infra.Tests.csproj.");

    private static string PrepareBicep(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException("The Bicep CLI is not where NuGet extracted it; run dotnet restore.", path);
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(path, mode | execute);
            }
        }

        return path;
    }
}
