using ResNeSt.Inference.Classification;
using ResNeSt.Pipeline.Models;

namespace ResNeSt.Pipeline.Tests.Infrastructure;

/// <summary>The model the tests run: written once per test run to a temporary file.</summary>
public static class TestModel
{
    private static readonly Lazy<string> s_path = new(Write);

    public static string Path => s_path.Value;

    public static IImageClassifier Create(LocalModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new ProvisionalClassifier();
    }

    private static string Write()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"resnest-pipeline-tests-{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, "provisional model placeholder"u8.ToArray());
        return path;
    }
}
