using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace ResNeSt.Pipeline.Configuration;

/// <summary>Settings of the blob → result flow (configuration section <c>Pipeline</c>).</summary>
public sealed class PipelineOptions
{
    public const string SectionName = "Pipeline";

    /// <summary>The container whose uploads are classified (app setting <c>Pipeline__ImagesContainer</c>).</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "ImagesContainer must be a valid container name.")]
    public string ImagesContainer { get; set; } = ResourceNames.Default.Containers.Images;

    /// <summary>The queue batch jobs put their per-blob messages on (app setting <c>Pipeline__ClassifyQueue</c>).</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "ClassifyQueue must be a valid queue name.")]
    public string ClassifyQueue { get; set; } = ResourceNames.Default.Queues.Classify;

    /// <summary>Blobs larger than this are failed as <c>too_large</c> from their properties, before any byte is downloaded.</summary>
    [Range(1, 256L * 1024 * 1024)]
    public long MaxImageBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>
    /// Longest one upload may take to decode before it is failed as <c>decode_timeout</c>. Every file is hostile until
    /// decoded: without a bound, one crafted file could hold a worker's decode slot for as long as it likes.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan DecodeTimeout { get; set; } = DefaultDecodeTimeout;

    /// <summary>10 s: a 40-megapixel image decodes in about 1–2 s on one core; ten times that only a crafted file needs.</summary>
    public static TimeSpan DefaultDecodeTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>Write blob index tags after a successful classification.</summary>
    public bool TaggingEnabled { get; set; } = true;

    /// <summary>
    /// How long a claim on a blob version shields it from concurrent duplicate deliveries. A claim older than this
    /// is taken over (its owner is presumed dead; the host retries the owner's invocation anyway). Keep it at most half
    /// the time a crashed invocation's message stays invisible (10 minutes for the Functions host's queue trigger), so
    /// that a redelivery after a crash finds the dead claim already expired instead of spending a retry on it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClaimTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Create the containers, queue and tables at start-up when missing (local runs; harmless in Azure).</summary>
    public bool EnsureStorageResources { get; set; } = true;

    /// <summary>
    /// Delay before the first re-drive of an upload the host gave up on (its poison message); each further attempt
    /// waits twice as long, up to an hour.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RedriveDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Re-drives of one undelivered upload while the model stays unavailable (the default, 16, spans about 10 hours);
    /// after that its failed result stays until the blob is uploaded again or a batch job re-classifies it.
    /// </summary>
    [Range(1, 100)]
    public int RedriveMaxAttempts { get; set; } = 16;

    /// <summary>Messages a batch job enqueues concurrently while it enumerates a prefix.</summary>
    [Range(1, 256)]
    public int EnqueueConcurrency { get; set; } = 16;

    /// <summary>Batch jobs that may run at once; <c>POST /api/batches</c> answers 429 beyond it.</summary>
    [Range(1, 1000)]
    public int MaxActiveBatchJobs { get; set; } = 4;

    /// <summary>
    /// Most blobs one batch job lists (each becomes a queue message); listing stops there and the job says it was
    /// truncated. Rounded up to whole listing pages of 1000.
    /// </summary>
    [Range(1, 100_000_000)]
    public int MaxBatchJobBlobs { get; set; } = 100_000;
}

/// <summary>The rules of <see cref="PipelineOptions"/> (attributes and <c>Validate</c>), checked by generated code, without reflection.</summary>
[OptionsValidator]
public sealed partial class PipelineOptionsValidator : IValidateOptions<PipelineOptions>;
