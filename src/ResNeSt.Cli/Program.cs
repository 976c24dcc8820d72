using System.CommandLine;
using ResNeSt.Cli.Commands;

namespace ResNeSt.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, new InvocationConfiguration(), CancellationToken.None);

    /// <summary>Parses and runs a command line; tests call this in-process with their own writers.</summary>
    internal static Task<int> RunAsync(string[] args, InvocationConfiguration configuration, CancellationToken cancellationToken) =>
        CommandLineConventions.InvokeAsync(CreateRoot(), "resnest", args, configuration, cancellationToken);

    internal static RootCommand CreateRoot()
    {
        var root = new RootCommand("resnest: build, inspect and run ResNeSt ImageNet classifiers (ONNX Runtime + ImageSharp).");
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(AnnotateCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ClassifyCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(TagCommand.Create());
        root.Subcommands.Add(Worker.WorkerCommand.Create());
        CommandLineConventions.Apply(root);
        return root;
    }
}
