using System.Reflection;
using Microsoft.Extensions.Options;
using ResNeSt.Cli.Worker;
using ResNeSt.DevTool.LoadTest;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;
using ResNeSt.Models.Checkpoints;
using ResNeSt.Pipeline.Configuration;

namespace ResNeSt.Cli.Tests.Options;

/// <summary>
/// Every options class states its rules once (attributes, plus <c>IValidatableObject</c> across fields) and is checked
/// by a source-generated <c>[OptionsValidator]</c>; this test project sees every assembly that holds options classes.
/// </summary>
public sealed class OptionsValidationTests
{
    /// <summary>
    /// Options records with no rule at all: the generator refuses a type with nothing to validate (SYSLIB1203), so they
    /// have no validator until they get their first rule.
    /// </summary>
    private static readonly HashSet<string> s_withoutRules =
    [
        "ResNeSt.Models.Onnx.OnnxBuildOptions",
        "ResNeSt.Inference.Runtime.ModelLoadOptions",
    ];

    private static readonly Assembly[] s_assemblies =
    [
        typeof(CheckpointDownloadOptions).Assembly, // ResNeSt.Models
        typeof(InferenceOptions).Assembly,          // ResNeSt.Inference
        typeof(PipelineOptions).Assembly,           // ResNeSt.Pipeline
        typeof(WorkerOptions).Assembly,             // ResNeSt.Cli
        typeof(LoadTestOptions).Assembly,           // resnest-dev
    ];

    [Fact]
    public void Every_options_class_has_a_generated_validator()
    {
        var validated = s_assemblies
            .SelectMany(a => a.GetTypes())
            .Where(t => t.GetCustomAttribute<OptionsValidatorAttribute>() is not null)
            .SelectMany(t => t.GetInterfaces())
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IValidateOptions<>))
            .Select(i => i.GetGenericArguments()[0])
            .ToHashSet();
        var options = s_assemblies
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsClass && !t.IsAbstract && t.Name.EndsWith("Options", StringComparison.Ordinal))
            .Where(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Any(p => p.SetMethod is { IsPublic: true } or { IsAssembly: true }))
            .ToList();

        Assert.Contains(typeof(InferenceOptions), options); // the scan finds what it should
        var missing = options.Where(t => !validated.Contains(t) && !s_withoutRules.Contains(t.FullName!)).Select(t => t.FullName).ToList();
        Assert.True(missing.Count == 0, $"Options classes without an [OptionsValidator] class: {string.Join(", ", missing)}");
    }

    public static TheoryData<string, Func<ValidateOptionsResult>, string> Invalid => new()
    {
        { "Pipeline", () => new PipelineOptionsValidator().Validate(null, new PipelineOptions { ClaimTimeout = TimeSpan.FromDays(30) }), "ClaimTimeout" },
        { "Preprocessing", () => new PreprocessingOptionsValidator().Validate(null, new PreprocessingOptions { Decode = (DecodeMode)99 }), "Decode must be Exact or Fast." },
        { "Model", () => new ModelOptionsValidator().Validate(null, new ModelOptions()), "Set exactly one of Model:Path" },
        { "StorageRetry", () => new StorageRetryOptionsValidator().Validate(null, new StorageRetryOptions { Delay = TimeSpan.FromSeconds(30), MaxDelay = TimeSpan.FromSeconds(10) }), "StorageRetry:Delay must not exceed StorageRetry:MaxDelay" },
        { "Inference range", () => new InferenceOptionsValidator().Validate(null, new InferenceOptions { MaxBatchDelay = TimeSpan.FromSeconds(11) }), "MaxBatchDelay must be between 00:00:00 and 00:00:10" },
        { "Inference enum", () => new InferenceOptionsValidator().Validate(null, new InferenceOptions { ExecutionProvider = (ExecutionProviderPreference)7 }), "ExecutionProvider must be auto, cuda or cpu." },
        { "Inference cross-field", () => new InferenceOptionsValidator().Validate(null, new InferenceOptions { MaxBatchSize = 16, QueueCapacity = 8, CudaPaddedBatchSizes = [1, 2, 4, 8, 16] }), "QueueCapacity must be at least MaxBatchSize (16)" },
        { "HostQueue", () => new HostQueueOptionsValidator().Validate(null, new HostQueueOptions { MessageEncoding = "none" }), "messageEncoding must be base64" },
        { "Worker", () => new WorkerOptionsValidator().Validate(null, new WorkerOptions { Lease = TimeSpan.FromSeconds(1) }), "Lease" },
        { "Classifier", () => new ClassifierOptionsValidator().Validate(null, new ClassifierOptions(TopK: 1001)), "TopK must be between 1 and 1000" },
        { "CheckpointDownload", () => new CheckpointDownloadOptionsValidator().Validate(null, new CheckpointDownloadOptions { ReadTimeout = TimeSpan.Zero }), "ReadTimeout must be between" },
        { "LoadTest", () => new LoadTestOptionsValidator().Validate(null, new LoadTestOptions(10, double.NaN, 4, 2, TimeSpan.FromMinutes(1), null, "samples", 1, 8)), "--hostile-fraction must be between 0 and 1." },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_value_fails_with_a_message_that_names_it(string options, Func<ValidateOptionsResult> validate, string expected)
    {
        var result = validate();

        Assert.True(result.Failed, $"{options}: an invalid value passed");
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.True(new PipelineOptionsValidator().Validate(null, new PipelineOptions()).Succeeded);
        Assert.True(new PreprocessingOptionsValidator().Validate(null, new PreprocessingOptions()).Succeeded);
        Assert.True(new ModelOptionsValidator().Validate(null, new ModelOptions { Path = "model.onnx" }).Succeeded);
        Assert.True(new StorageRetryOptionsValidator().Validate(null, new StorageRetryOptions()).Succeeded);
        Assert.True(new InferenceOptionsValidator().Validate(null, new InferenceOptions()).Succeeded);
        Assert.True(new HostQueueOptionsValidator().Validate(null, new HostQueueOptions()).Succeeded);
        Assert.True(new WorkerOptionsValidator().Validate(null, new WorkerOptions()).Succeeded);
        Assert.True(new ClassifierOptionsValidator().Validate(null, new ClassifierOptions()).Succeeded);
        Assert.True(new CheckpointDownloadOptionsValidator().Validate(null, new CheckpointDownloadOptions()).Succeeded);
    }
}
