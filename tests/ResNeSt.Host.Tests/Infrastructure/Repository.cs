using System.Reflection;

namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>Paths the build recorded: the repository, the Bicep CLI, the Functions project's build output.</summary>
internal static class Repository
{
    public static string Root { get; } = Path.GetFullPath(Metadata("RepoRoot"));

    public static string MainBicep => Path.Combine(Root, "infra", "main.bicep");

    public static string FunctionsProject => Path.Combine(Root, "src", "ResNeSt.Functions", "ResNeSt.Functions.csproj");

    /// <summary>The Functions project's build output (functions.metadata), built before these tests by the project reference.</summary>
    public static string FunctionsOutput => Metadata("FunctionsOutputDirectory");

    public static string LocalSettingsExample => Path.Combine(Root, "src", "ResNeSt.Functions", "local.settings.example.json");

    /// <summary>The folder beside the checkout that holds the Functions host (and the CI's copy of it).</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    public static string Bicep
    {
        get
        {
            var path = Metadata("BicepPath");
            if (!OperatingSystem.IsWindows() && File.Exists(path) && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) == 0)
            {
                // NuGet extraction can drop the execute bit.
                File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            }

            return File.Exists(path) ? path : throw new FileNotFoundException("The Bicep CLI is not where NuGet extracted it; run dotnet restore.", path);
        }
    }

    private static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata '{key}' is missing; see ResNeSt.Host.Tests.csproj.");
}
