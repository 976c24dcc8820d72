using System.CommandLine;
using ResNeSt.Cli;
using ResNeSt.DevTool.Commands;

namespace ResNeSt.DevTool;

internal static class Program
{
    public static Task<int> Main(string[] args) => RunAsync(args, new InvocationConfiguration(), CancellationToken.None);

    /// <summary>Parses and runs a command line; tests call this in-process with their own writers.</summary>
    internal static Task<int> RunAsync(string[] args, InvocationConfiguration configuration, CancellationToken cancellationToken) =>
        CommandLineConventions.InvokeAsync(CreateRoot(), "resnest-dev", args, configuration, cancellationToken);

    internal static RootCommand CreateRoot()
    {
        var root = new RootCommand(
            "resnest-dev: the ResNeSt.Functions pipeline on a private Azurite (demo, pipeline-bench, load-test); development only, not shipped.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(PipelineBenchCommand.Create());
        root.Subcommands.Add(LoadTestCommand.Create());
        CommandLineConventions.Apply(root);
        return root;
    }
}
