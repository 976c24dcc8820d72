using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ResNeSt.Pipeline.Configuration;

/// <summary>
/// Where the ONNX model comes from (configuration section <c>Model</c>): a local file baked into the image
/// (<c>Model__Path</c>) or a blob in the <c>models</c> container (<c>Model__BlobName</c>), checked against
/// <c>Model__Sha256</c> when it is set and cached on local disk.
/// </summary>
public sealed class ModelOptions : IValidatableObject
{
    public const string SectionName = "Model";

    public string? Path { get; set; }

    public string? BlobName { get; set; }

    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Container must be a valid container name.")]
    public string Container { get; set; } = ResourceNames.Default.Containers.Models;

    /// <summary>
    /// Expected SHA-256 of the model file (64 hex digits), optional and checked when set. Without it the model is the
    /// current content of the blob (or file), which only the app's identity and the deployer can write; its hash is
    /// logged at load and stored with every result, so each result still names the exact model that produced it.
    /// </summary>
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "Sha256 must be 64 hexadecimal digits.")]
    public string? Sha256 { get; set; }

    /// <summary>Where downloaded models are cached; defaults to a folder under the temp directory.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>
    /// After a failed model load, invocations within this interval fail at once with the same reason; the first one
    /// after it loads again (a replaced file or blob is picked up without a restart). Zero retries on every invocation.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        bool hasPath = !string.IsNullOrWhiteSpace(Path);
        bool hasBlob = !string.IsNullOrWhiteSpace(BlobName);
        if (hasPath == hasBlob)
        {
            yield return new ValidationResult(
                "Set exactly one of Model:Path (a local ONNX file) or Model:BlobName (a blob in the models container).",
                [nameof(Path), nameof(BlobName)]);
        }
    }
}

/// <summary>The rules of <see cref="ModelOptions"/> (attributes and <c>Validate</c>), checked by generated code, without reflection.</summary>
[OptionsValidator]
public sealed partial class ModelOptionsValidator : IValidateOptions<ModelOptions>;
