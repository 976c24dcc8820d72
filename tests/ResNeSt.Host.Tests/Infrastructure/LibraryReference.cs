using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;

namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>
/// The same model classified in this process by the library (<see cref="ResNeStClassifier"/>) with the app's default
/// decode setting (<c>Preprocessing__Decode</c> unset: <see cref="DecodeMode.Fast"/>), so that a result that came back
/// through the host can be held to what the library computes for the same bytes.
/// </summary>
internal static class LibraryReference
{
    private static readonly Lazy<Task<ResNeStClassifier>> s_classifier = new(async () =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"resnest-host-reference-{Environment.ProcessId}.onnx");
        await File.WriteAllBytesAsync(path, await ParityModel.BytesAsync());
        return ResNeStClassifier.Load(
            path,
            new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = 1 },
            options: new ClassifierOptions(Decode: DecodeMode.Fast));
    });

    public static async Task<int[]> Top5Async(string file)
    {
        var classifier = await s_classifier.Value;
        var result = await classifier.ClassifyAsync(await File.ReadAllBytesAsync(file));
        return result.Predictions.Select(p => p.Index).ToArray();
    }
}
