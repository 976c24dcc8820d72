using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ResNeSt.Models.Checkpoints;

/// <summary>Where official weights come from and where they are kept.</summary>
public sealed record CheckpointDownloadOptions : IValidatableObject
{
    /// <summary>Folder holding downloaded weights; a file whose hash is right is reused without any network access.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "The checkpoint cache folder is not set.")]
    public string CacheDirectory { get; init; } = DefaultCacheDirectory();

    /// <summary>Folder URL the weight file names are appended to.</summary>
    public Uri BaseUrl { get; init; } = new(OfficialWeights.DefaultBaseUrl);

    /// <summary>
    /// The full SHA-256 (64 hex digits) the file must have; null trusts the 8 published hex digits alone (32 bits,
    /// which a forged file can match). Set it with <c>RESNEST_WEIGHTS_SHA256</c> when you know the whole hash.
    /// </summary>
    [RegularExpression("^[0-9a-f]{64}$", ErrorMessage = "The pinned SHA-256 (" + OfficialWeights.Sha256Variable + ") is not 64 lower-case hex digits.")]
    public string? Sha256 { get; init; }

    // [Range] rather than "> 0": the generated validator has no exclusive bound for TimeSpan, and a day is far beyond any real wait.
    /// <summary>Time allowed to resolve and connect; short, so that a closed network fails at once.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for the response or for the next piece of data; a stalled transfer fails instead of hanging.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Defaults, overridden by <c>RESNEST_CACHE</c> and <c>RESNEST_WEIGHTS_URL</c> when they are set.</summary>
    public static CheckpointDownloadOptions FromEnvironment()
    {
        var options = new CheckpointDownloadOptions();
        if (Environment.GetEnvironmentVariable(OfficialWeights.CacheVariable) is { Length: > 0 } cache)
        {
            options = options with { CacheDirectory = cache };
        }

        if (Environment.GetEnvironmentVariable(OfficialWeights.BaseUrlVariable) is { Length: > 0 } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUrl))
            {
                throw new CheckpointException($"{OfficialWeights.BaseUrlVariable}='{url}' is not an absolute URL.");
            }

            options = options with { BaseUrl = baseUrl };
        }

        if (Environment.GetEnvironmentVariable(OfficialWeights.Sha256Variable) is { Length: > 0 } pin)
        {
            options = options with { Sha256 = pin.Trim().ToLowerInvariant() };
        }

        options.Validate();
        return options;
    }

    /// <summary>Fails at start-up rather than at the first download: the generated validator's first failure, as a <see cref="CheckpointException"/>.</summary>
    public void Validate()
    {
        if (new CheckpointDownloadOptionsValidator().Validate(null, this) is { Failed: true } invalid)
        {
            throw new CheckpointException(invalid.Failures.First());
        }
    }

    /// <summary>The rules attributes cannot state.</summary>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        // Plain http would let anyone on the path swap the file; only a loopback server (tests, a local mirror
        // reached through a tunnel) may be plain http.
        if (BaseUrl is null || !BaseUrl.IsAbsoluteUri || !(BaseUrl.Scheme == Uri.UriSchemeHttps || (BaseUrl.Scheme == Uri.UriSchemeHttp && BaseUrl.IsLoopback)))
        {
            yield return new ValidationResult($"The weights base URL '{BaseUrl}' must be an absolute https URL (plain http only to a loopback address).", [nameof(BaseUrl)]);
        }
    }

    private static string DefaultCacheDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "resnest");
}

/// <summary>The rules of <see cref="CheckpointDownloadOptions"/>, checked by generated code (no DI: <see cref="CheckpointDownloadOptions.Validate"/> calls it).</summary>
[OptionsValidator]
public sealed partial class CheckpointDownloadOptionsValidator : IValidateOptions<CheckpointDownloadOptions>;
