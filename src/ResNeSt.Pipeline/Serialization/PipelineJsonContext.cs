using System.Text.Json.Serialization;

namespace ResNeSt.Pipeline.Serialization;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(ResultDocument))]
[JsonSerializable(typeof(LabelResultPage))]
[JsonSerializable(typeof(ClassificationDocument))]
[JsonSerializable(typeof(BatchRequest))]
[JsonSerializable(typeof(BatchJobDocument))]
[JsonSerializable(typeof(HealthDocument))]
[JsonSerializable(typeof(UploadDocument))]
[JsonSerializable(typeof(BlobTagsDocument))]
[JsonSerializable(typeof(BatchMessage))]
[JsonSerializable(typeof(Redrive.BlobTriggerPoisonMessage))]
[JsonSerializable(typeof(ProblemDocument))]
[JsonSerializable(typeof(PredictionDocument[]))]
[JsonSerializable(typeof(IReadOnlyList<ResultDocument>))]
public sealed partial class PipelineJsonContext : JsonSerializerContext;
