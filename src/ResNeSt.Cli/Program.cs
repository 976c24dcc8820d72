using System.CommandLine;
using System.Text.RegularExpressions;
using ResNeSt.Cli.Commands;

namespace ResNeSt.Cli;

internal static partial class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, new InvocationConfiguration(), CancellationToken.None);

    /// <summary>Parses and runs a command line; tests call this in-process with their own writers.</summary>
    internal static async Task<int> RunAsync(string[] args, InvocationConfiguration configuration, CancellationToken cancellationToken)
    {
        var root = CreateRoot();
        if (args.Length == 0)
        {
            // A bare `resnest` is a usage error: say how to use it, on stderr (stdout is for data).
            await root.Parse(["--help"]).InvokeAsync(new InvocationConfiguration { Output = configuration.Error, Error = configuration.Error }, cancellationToken);
            return CommandLineConventions.ExitUsage;
        }

        var parsed = root.Parse(args);
        var name = parsed.CommandResult.Command is RootCommand ? "resnest" : $"resnest {parsed.CommandResult.Command.Name}";
        if (parsed.Errors.Count > 0)
        {
            // One line, named after the command, and exit 2: what a shell user (and a script's `case $?`) expects.
            var message = string.Join("; ", parsed.Errors.Select(e => OneLine().Replace(e.Message, " ").Trim()).Distinct(StringComparer.Ordinal));
            await configuration.Error.WriteLineAsync($"{name}: {message}");
            return CommandLineConventions.ExitUsage;
        }

        configuration.EnableDefaultExceptionHandler = false;
        try
        {
            return await parsed.InvokeAsync(configuration, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await configuration.Error.WriteLineAsync($"{name}: cancelled");
            return 130;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Files that vanished or cannot be read mid-command: the message names the file; a stack trace adds nothing.
            await configuration.Error.WriteLineAsync($"{name}: {OneLine().Replace(ex.Message, " ").Trim()}");
            return CommandLineConventions.ExitFailed;
        }
    }

    internal static RootCommand CreateRoot()
    {
        var root = new RootCommand("resnest: build, inspect and run ResNeSt ImageNet classifiers (ONNX Runtime + ImageSharp).");
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(AnnotateCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ClassifyCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(TagCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(PipelineBenchCommand.Create());
        root.Subcommands.Add(LoadTestCommand.Create());
        root.Subcommands.Add(Worker.WorkerCommand.Create());
        CommandLineConventions.Apply(root);
        return root;
    }

    [GeneratedRegex(@"\s*[\r\n]+\s*")]
    private static partial Regex OneLine();
}
