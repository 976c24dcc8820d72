using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ResNeSt.Pipeline.Configuration;

/// <summary>
/// Storage resource and setting names, read from <c>infra/names.json</c> (embedded) so that the app, the CLI,
/// the tests and the Bicep templates cannot disagree.
/// </summary>
public sealed record ResourceNames(
    string ConnectionName,
    ResourceNames.ContainerNames Containers,
    ResourceNames.QueueNames Queues,
    ResourceNames.TableNames Tables,
    ResourceNames.SettingNames Settings)
{
    public sealed record ContainerNames(string Images, string Models, string DeadLetter);

    public sealed record QueueNames(string Classify);

    public sealed record TableNames(string Results, string LabelIndex, string BatchJobs);

    public sealed record SettingNames(
        string ImagesContainer,
        string ClassifyQueue,
        string ModelPath,
        string ModelBlobName,
        string ModelSha256,
        string ExecutionProvider);

    /// <summary>The names shipped with this build.</summary>
    public static ResourceNames Default { get; } = Load();

    private static ResourceNames Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ResNeSt.Pipeline.names.json")
            ?? throw new InvalidOperationException("names.json is missing from the assembly.");
        return JsonSerializer.Deserialize(stream, ResourceNamesJsonContext.Default.ResourceNames)
            ?? throw new InvalidOperationException("names.json is empty.");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ResourceNames))]
internal sealed partial class ResourceNamesJsonContext : JsonSerializerContext;
