using System.CommandLine;
using ResNeSt.Cli.Commands;

namespace ResNeSt.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("resnest: build, inspect and run ResNeSt ImageNet classifiers (ONNX Runtime + ImageSharp).");
        root.Subcommands.Add(TagCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(PipelineBenchCommand.Create());
        root.Subcommands.Add(Commands.ClassifyCommand.Create());
        root.Subcommands.Add(Commands.BenchCommand.Create());
        return root.Parse(args).InvokeAsync();
    }
}
