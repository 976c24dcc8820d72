using System.CommandLine;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary>The result of running the real command line in-process.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public IReadOnlyList<string> ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static async Task<CliRun> InvokeAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await Program.RunAsync(args, new InvocationConfiguration { Output = output, Error = error }, CancellationToken.None);
        return new CliRun(exitCode, output.ToString(), error.ToString());
    }
}
