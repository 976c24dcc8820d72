using System.CommandLine;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;

namespace ResNeSt.Cli.Commands;

/// <summary>Options and plumbing shared by <c>classify</c> and <c>bench</c>.</summary>
internal static class InferenceCommandSupport
{
    public static Option<FileInfo> ModelOption() => new("--model")
    {
        Description = "The ONNX model (input 'input' [N,3,S,S], output 'logits' [N,1000]).",
        Required = true,
    };

    public static Option<string> ProviderOption()
    {
        var option = new Option<string>("--provider")
        {
            Description = "Execution provider: auto (CUDA if it loads, else CPU), cuda (fail without it) or cpu.",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        return option;
    }

    public static Option<string> DecodeOption()
    {
        var option = new Option<string>("--decode")
        {
            Description = "JPEG decoding: fast (large JPEGs decoded at 1/2, 1/4 or 1/8 size, as PIL's draft) or exact (PIL + torchvision parity).",
            DefaultValueFactory = _ => "fast",
        };
        option.AcceptOnlyFromAmong("fast", "exact");
        return option;
    }

    public static DecodeMode ParseDecode(string? value) => Enum.Parse<DecodeMode>(value ?? "fast", ignoreCase: true);

    public static Option<int?> CropOption()
    {
        var option = new Option<int?>("--crop") { Description = "Crop size S; required for a model without ResNeSt metadata (ImageNet defaults are used)." };
        option.Validators.Add(r =>
        {
            if (r.GetValue(option) is < 1 or > 4096)
            {
                r.AddError("--crop must be between 1 and 4096.");
            }
        });
        return option;
    }

    public static Option<int> PositiveOption(string name, string description, int defaultValue, int max = 100_000)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            if (r.GetValue(option) < 1 || r.GetValue(option) > max)
            {
                r.AddError($"{name} must be between 1 and {max}.");
            }
        });
        return option;
    }

    public static ExecutionProviderPreference ParseProvider(string? value) =>
        Enum.Parse<ExecutionProviderPreference>(value ?? "auto", ignoreCase: true);

    /// <summary>Logs go to stderr so that stdout stays one JSON document per line.</summary>
    public static ILoggerFactory CreateLoggerFactory() => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(LogLevel.Warning)
        .AddSimpleConsole(o => o.SingleLine = true)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
}

public sealed record ErrorJson(string Code, string Message);

public sealed record PredictionJson(int Index, string Label, float Probability);

public sealed record ImageJson(string Format, int Width, int Height);

/// <summary>One line of <c>resnest classify</c> output.</summary>
public sealed record ClassifyLine(
    string File,
    IReadOnlyList<PredictionJson>? Predictions,
    string Provider,
    string? Model,
    ImageJson? Image,
    IReadOnlyList<float>? Logits,
    ErrorJson? Error);

public sealed record LatencyJson(double P50, double P95, double Mean);

public sealed record StagesJson(double DecodeAndPreprocessMs, double QueueWaitMs, double InferenceMsPerBatch, double InferenceMsPerImage, double PostprocessMsPerImage);

/// <summary>End-to-end results; throughput counts the images completed inside the timed window.</summary>
/// <param name="CpuMsPerImage">Process CPU time (all threads) per completed image: on a shared machine, a cost that other load does not distort.</param>
public sealed record EndToEndJson(long ImagesCompleted, long ImagesInWindow, long Errors, double WindowSeconds, double ImagesPerSecond, LatencyJson LatencyMs, double CpuMsPerImage);

public sealed record BareJson(long Runs, long Images, double Seconds, double ImagesPerSecond, double CpuMsPerImage);

/// <summary>The summary <c>resnest bench</c> prints.</summary>
public sealed record BenchSummary(
    string Model,
    string ModelSha256,
    string Precision,
    string Provider,
    int CropSize,
    int Batch,
    int PaddedBatch,
    int Concurrency,
    int IntraOpThreads,
    int SourceImages,
    EndToEndJson EndToEnd,
    StagesJson Stages,
    IReadOnlyDictionary<string, long> BatchSizes,
    BareJson BareInference,
    double EndToEndOverBare,
    double BareCpuOverEndToEndCpu,
    double PeakWorkingSetMb,
    string Decode);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ClassifyLine))]
[JsonSerializable(typeof(BenchSummary))]
internal sealed partial class InferenceJsonContext : JsonSerializerContext;
