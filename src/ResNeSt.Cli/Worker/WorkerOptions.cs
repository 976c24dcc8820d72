using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Configuration;

namespace ResNeSt.Cli.Worker;

/// <summary>
/// The queue trigger's settings, read from the Functions app's own <c>host.json</c> (<c>extensions.queues</c>) and
/// overridable with <c>AzureFunctionsJobHost__extensions__queues__*</c> environment variables, as the Functions host does.
/// </summary>
internal sealed class HostQueueOptions
{
    /// <summary>Messages fetched per request (the host's range: 1–32).</summary>
    [Range(1, 32)]
    public int BatchSize { get; set; } = 16;

    /// <summary>A new batch is fetched once the messages in flight drop to this; at most BatchSize + this run at once.</summary>
    [Range(0, 1024)]
    public int NewBatchThreshold { get; set; } = 8;

    /// <summary>Deliveries before a message is moved to the poison queue.</summary>
    [Range(1, 1000)]
    public int MaxDequeueCount { get; set; } = 5;

    /// <summary>How long a failed message stays invisible before its retry (the host's meaning of visibilityTimeout).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>Longest wait between polls of an empty queue (the wait doubles from 100 ms up to this).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The pipeline's queue clients encode bodies as base64, like the trigger expects.</summary>
    [RegularExpression("^(?i:base64)$", ErrorMessage = "extensions.queues.messageEncoding must be base64 (the pipeline writes base64 bodies).")]
    public string MessageEncoding { get; set; } = "base64";
}

/// <summary>The rules of <see cref="HostQueueOptions"/>, checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class HostQueueOptionsValidator : IValidateOptions<HostQueueOptions>;

/// <summary>The worker's own settings (command-line options).</summary>
internal sealed class WorkerOptions
{
    /// <summary>
    /// How long a received message stays invisible while it is processed; renewed every half of it. The Functions host
    /// uses 10 minutes. After a crash the message reappears within this time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:02", "02:00:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>host.json <c>functionTimeout</c>: an invocation running longer is cancelled (and fails).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FunctionTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Stop once both queues are empty and nothing is in flight (backfills, tests).</summary>
    public bool Drain { get; set; }
}

/// <summary>The rules of <see cref="WorkerOptions"/> alone, checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class WorkerOptionsValidator : IValidateOptions<WorkerOptions>;

/// <summary>
/// A crashed invocation's message reappears between half a lease and a lease after the crash (the lease is renewed
/// every half). If its claim on the blob lives longer than that, the redelivery only finds the dead claim and spends
/// a delivery on it; a claim timeout of at most half the lease makes every crash cost each message one delivery.
/// </summary>
internal sealed class WorkerLeaseValidator(IOptions<PipelineOptions> pipeline) : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var claim = pipeline.Value.ClaimTimeout;
        return claim * 2 <= options.Lease
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"--lease {options.Lease} must be at least twice Pipeline:ClaimTimeout ({claim}), so that a crashed invocation's claim has expired when its message reappears.");
    }
}
