using System.CommandLine;
using System.CommandLine.Invocation;
using ResNeSt.Cli.Commands;

namespace ResNeSt.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, new InvocationConfiguration(), CancellationToken.None);

    /// <summary>Parses and runs a command line; tests call this in-process with their own writers.</summary>
    internal static Task<int> RunAsync(string[] args, InvocationConfiguration configuration, CancellationToken cancellationToken)
    {
        var root = new RootCommand("resnest: build, inspect and run ResNeSt ImageNet classifiers (ONNX Runtime + ImageSharp).");
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ClassifyCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(TagCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(PipelineBenchCommand.Create());
        root.Subcommands.Add(LoadTestCommand.Create());
        root.Subcommands.Add(Worker.WorkerCommand.Create());
        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction parseError)
        {
            // A malformed command line gets its error lines, not the whole help text after them.
            parseError.ShowHelp = false;
        }

        return parsed.InvokeAsync(configuration, cancellationToken);
    }
}
