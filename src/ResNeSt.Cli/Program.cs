using System.CommandLine;

namespace ResNeSt.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("resnest: build, inspect and run ResNeSt ImageNet classifiers (ONNX Runtime + ImageSharp).");
        root.Subcommands.Add(Commands.ClassifyCommand.Create());
        root.Subcommands.Add(Commands.BenchCommand.Create());
        return root.Parse(args).InvokeAsync();
    }
}
