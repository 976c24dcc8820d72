using System.Diagnostics;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary>`resnest` installs the .NET way: the CLI packs as a tool package, installs into a tool path and runs.</summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resnest-tool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }

    [Fact]
    public async Task Packs_installs_into_a_tool_path_and_runs_as_resnest()
    {
        var root = Directory.GetParent(ClassifyCommandTests.SamplesDirectory())!.Parent!.FullName;
        var packages = Path.Combine(_dir, "packages");
        var tools = Path.Combine(_dir, "tools");
        // The test project already built the CLI (Debug): pack that build rather than building Release again.
        var pack = await RunAsync("dotnet", root, "pack", "src/ResNeSt.Cli", "-c", "Debug", "--no-build", "-o", packages, "-v", "q", "-clp:ErrorsOnly");
        Assert.True(pack.ExitCode == 0, pack.Output);
        var install = await RunAsync("dotnet", _dir, "tool", "install", "ResNeSt.Cli", "--tool-path", tools, "--add-source", packages, "--ignore-failed-sources");
        Assert.True(install.ExitCode == 0, install.Output);

        var help = await RunAsync(Path.Combine(tools, "resnest"), _dir, "--help");
        Assert.True(help.ExitCode == 0, help.Output);
        Assert.Contains("Usage:", help.Output, StringComparison.Ordinal);
        Assert.Contains("resnest [command] [options]", help.Output, StringComparison.Ordinal);
        Assert.Contains("annotate", help.Output, StringComparison.Ordinal);
    }
}
