using ResNeSt.Models.Architecture;
using ResNeSt.Testing.Samples;

namespace ResNeSt.TestSupport;

/// <summary>
/// The model the tests run (<see cref="ReducedModel"/>), written by the model builder once per test process.
/// </summary>
public static class TestModel
{
    public static ResNeStVariant Variant => ReducedModel.Variant;

    private static readonly Lazy<string> s_path = new(Write);

    public static string Path => s_path.Value;

    private static string Write()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"resnest-pipeline-tests-{Environment.ProcessId}.onnx");
        ReducedModel.Write(path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(path);
        return path;
    }
}
