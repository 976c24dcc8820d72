using System.CommandLine;

namespace ResNeSt.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = new RootCommand("resnest: build, inspect and run ResNeSt ImageNet classifiers (ONNX Runtime + ImageSharp).");
        return root.Parse(args).InvokeAsync();
    }
}
