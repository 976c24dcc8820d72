using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Azure.Core;

namespace ResNeSt.Pipeline.Configuration;

/// <summary>
/// The Azure SDK's own retry policy for every storage client of the pipeline (configuration section
/// <c>StorageRetry</c>): exponential back-off over transient faults (408, 429, 500, 502, 503, 504, dropped
/// connections, timeouts). What is still failing after the last retry is thrown, so the host's retry and poison path
/// takes over; nothing is recorded as an image's failure because storage was down.
/// </summary>
public sealed class StorageRetryOptions : IValidatableObject
{
    public const string SectionName = "StorageRetry";

    /// <summary>Retries after the first attempt of one request.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 5;

    /// <summary>First back-off; doubled per retry (with jitter) up to <see cref="MaxDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(0.5);

    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>One attempt that gets no answer within this is abandoned and retried (a hung connection).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Delay > MaxDelay)
        {
            yield return new ValidationResult("StorageRetry:Delay must not exceed StorageRetry:MaxDelay.", [nameof(Delay), nameof(MaxDelay)]);
        }
    }

    /// <summary>Copies the policy onto an SDK client's options.</summary>
    public void ApplyTo(RetryOptions retry)
    {
        ArgumentNullException.ThrowIfNull(retry);
        retry.Mode = RetryMode.Exponential;
        retry.MaxRetries = MaxRetries;
        retry.Delay = Delay;
        retry.MaxDelay = MaxDelay;
        retry.NetworkTimeout = NetworkTimeout;
    }
}

/// <summary>The rules of <see cref="StorageRetryOptions"/> (attributes and <c>Validate</c>), checked by generated code, without reflection.</summary>
[OptionsValidator]
public sealed partial class StorageRetryOptionsValidator : IValidateOptions<StorageRetryOptions>;
