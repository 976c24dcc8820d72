namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>
/// The Functions app as `dotnet publish` lays it out (what a deployment ships and `func start` runs), published once
/// per test run from the build the test project already made.
/// </summary>
internal static class PublishedApp
{
    private static readonly Lazy<Task<string>> s_directory = new(PublishAsync);

    public static Task<string> DirectoryAsync() => s_directory.Value;

    private static async Task<string> PublishAsync()
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var output = Path.Combine(Repository.Root, "artifacts", "host-tests", "app-" + configuration);
        var run = await ProcessRun.RunAsync(
            "dotnet",
            ["publish", Repository.FunctionsProject, "-c", configuration, "--no-build", "-o", output, "--nologo", "-v", "q"],
            Repository.Root,
            TimeSpan.FromMinutes(10),
            new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" });
        if (run.ExitCode != 0 || !File.Exists(Path.Combine(output, "functions.metadata")))
        {
            throw new InvalidOperationException($"dotnet publish failed ({run.ExitCode}):\n{run.Output}");
        }

        return output;
    }
}
