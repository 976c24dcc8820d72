using System.Globalization;
using Microsoft.Extensions.Configuration;
using ResNeSt.Inference.Runtime;
using ResNeSt.Pipeline.Configuration;

namespace ResNeSt.Pipeline.Hosting;

/// <summary>
/// The settings a host outside the Functions app sets from its command line or test (on top of the environment),
/// as typed values: the configuration keys come from the options classes, so no host spells one.
/// Null leaves the setting to the environment (or the option's default).
/// </summary>
public sealed record PipelineSettings
{
    /// <summary>The storage connection string (the app's <c>ImageStorage</c> setting).</summary>
    public string? StorageConnection { get; init; }

    public string? ImagesContainer { get; init; }

    public bool? TaggingEnabled { get; init; }

    /// <summary>A local model file (<see cref="ModelOptions.Path"/>).</summary>
    public string? ModelPath { get; init; }

    public ExecutionProviderPreference? ExecutionProvider { get; init; }

    public int? MaxBatchSize { get; init; }

    public int? IntraOpThreads { get; init; }

    /// <summary>These settings as configuration keys and values, for <see cref="MemoryConfigurationBuilderExtensions.AddInMemoryCollection(IConfigurationBuilder, IEnumerable{KeyValuePair{string, string?}}?)"/>.</summary>
    public IReadOnlyDictionary<string, string?> ToConfiguration()
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Set(values, ResourceNames.Default.ConnectionName, StorageConnection);
        Set(values, Key(PipelineOptions.SectionName, nameof(PipelineOptions.ImagesContainer)), ImagesContainer);
        Set(values, Key(PipelineOptions.SectionName, nameof(PipelineOptions.TaggingEnabled)), TaggingEnabled is { } tagging ? (tagging ? "true" : "false") : null);
        Set(values, Key(ModelOptions.SectionName, nameof(ModelOptions.Path)), ModelPath);
        Set(values, Key(InferenceOptions.SectionName, nameof(InferenceOptions.ExecutionProvider)), ExecutionProvider?.ToString());
        Set(values, Key(InferenceOptions.SectionName, nameof(InferenceOptions.MaxBatchSize)), MaxBatchSize?.ToString(CultureInfo.InvariantCulture));
        Set(values, Key(InferenceOptions.SectionName, nameof(InferenceOptions.IntraOpThreads)), IntraOpThreads?.ToString(CultureInfo.InvariantCulture));
        return values;
    }

    /// <summary>The configuration key of an option: <c>Section:Property</c>.</summary>
    public static string Key(string section, string property) => ConfigurationPath.Combine(section, property);

    private static void Set(Dictionary<string, string?> values, string key, string? value)
    {
        if (value is not null)
        {
            values[key] = value;
        }
    }
}
