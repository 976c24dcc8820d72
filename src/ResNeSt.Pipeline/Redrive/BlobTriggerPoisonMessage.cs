using System.Text.Json.Serialization;

namespace ResNeSt.Pipeline.Redrive;

/// <summary>
/// What the host's blobs extension writes to <c>webjobs-blobtrigger-poison</c> after the last failed attempt of a blob
/// trigger (its <c>BlobTriggerMessage</c>: PascalCase names; the ETag is the version the event announced).
/// </summary>
public sealed record BlobTriggerPoisonMessage(
    [property: JsonPropertyName("FunctionId")] string? FunctionId,
    [property: JsonPropertyName("ContainerName")] string? ContainerName,
    [property: JsonPropertyName("BlobName")] string? BlobName,
    [property: JsonPropertyName("ETag")] string? ETag);
