using System.CommandLine;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary>The result of running the real command line in-process.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    /// <summary>The commands of <c>resnest-dev</c> (tools/ResNeSt.DevTool); every other command is the shipped <c>resnest</c>'s.</summary>
    public static IReadOnlySet<string> DevCommands { get; } = new HashSet<string>(StringComparer.Ordinal) { "demo", "pipeline-bench", "load-test" };

    public IReadOnlyList<string> ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The tool that has <paramref name="command"/>.</summary>
    public static string ToolOf(string command) => DevCommands.Contains(command) ? "resnest-dev" : "resnest";

    /// <summary>Runs <paramref name="args"/> with the tool that has its command (<see cref="ToolOf"/>).</summary>
    public static async Task<CliRun> InvokeAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var configuration = new InvocationConfiguration { Output = output, Error = error };
        int exitCode = args.Length > 0 && DevCommands.Contains(args[0])
            ? await DevTool.Program.RunAsync(args, configuration, CancellationToken.None)
            : await Program.RunAsync(args, configuration, CancellationToken.None);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }
}
