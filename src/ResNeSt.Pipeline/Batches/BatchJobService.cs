using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Batches;

/// <summary>
/// Batch tagging of blobs that already exist, driven by messages of the classify queue: a job is started, its prefix
/// listed a page at a time (each blob a message), and each blob classified by the pipeline and counted in its job
/// (<see cref="BatchJobStore"/> keeps the jobs and their exact progress).
/// </summary>
public sealed class BatchJobService(
    PipelineStorage storage,
    BatchJobStore jobs,
    ClassificationPipeline pipeline,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<BatchJobService> logger)
{
    private const int ListingPageSize = 1000;

    private readonly PipelineOptions _options = options.Value;

    // Jobs are never deleted while running, so a job row seen once need not be read again for each of its messages.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TableEntity> _knownJobs = new(StringComparer.Ordinal);

    /// <summary>Creates a job over <paramref name="prefix"/> of the images container and queues its first listing page.</summary>
    /// <exception cref="BatchJobLimitException">As many jobs as <see cref="PipelineOptions.MaxActiveBatchJobs"/> are running.</exception>
    public async Task<BatchJobDocument> StartAsync(string prefix, CancellationToken cancellationToken)
    {
        ValidatePrefix(prefix);
        int active = await jobs.CountActiveAsync(cancellationToken).ConfigureAwait(false);
        if (active >= _options.MaxActiveBatchJobs)
        {
            throw new BatchJobLimitException(active, _options.MaxActiveBatchJobs);
        }

        var job = await CreateJobAsync(prefix, cancellationToken).ConfigureAwait(false);
        await jobs.MarkActiveAsync(job.Id, cancellationToken).ConfigureAwait(false);
        await EnqueueAsync(new BatchMessage(BatchMessage.EnumerateKind, job.Id, Page: 1), cancellationToken).ConfigureAwait(false);
        return job;
    }

    /// <summary>Creates the job row only (the CLI runs the job in-process instead of through the queue).</summary>
    public async Task<BatchJobDocument> CreateJobAsync(string prefix, CancellationToken cancellationToken)
    {
        ValidatePrefix(prefix);
        var createdAt = time.GetUtcNow();
        var id = await jobs.CreateAsync(prefix, createdAt, cancellationToken).ConfigureAwait(false);
        PipelineLog.BatchStarted(logger, id, _options.ImagesContainer, LogSanitizer.Clean(prefix));
        return new BatchJobDocument(id, _options.ImagesContainer, prefix, "enumerating", 0, 0, 0, 0, createdAt, null);
    }

    /// <summary>Prefixes are blob-name prefixes inside the configured container; nothing can point elsewhere (<see cref="BlobNameRules"/>).</summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        BlobNameRules.Validate(prefix, nameof(prefix), isPrefix: true);
    }

    /// <summary>Handles one message of the classify queue. Transient failures are thrown so that the queue retries the message.</summary>
    public async Task<ProcessingOutcome?> HandleAsync(BatchMessage message, string invocationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var job = _knownJobs.TryGetValue(message.JobId, out var cached)
            ? cached
            : await jobs.GetJobRowAsync(message.JobId, cancellationToken).ConfigureAwait(false);
        if (job is not null && _knownJobs.Count < 10_000)
        {
            _knownJobs.TryAdd(message.JobId, job);
        }

        if (job is null)
        {
            PipelineLog.BatchUnknownJob(logger, LogSanitizer.Clean(message.JobId));
            return null;
        }

        switch (message.Kind)
        {
            case BatchMessage.EnumerateKind:
                await EnumeratePageAsync(message, job.GetString("Prefix") ?? "", enqueue: true, cancellationToken).ConfigureAwait(false);
                return null;
            case BatchMessage.ClassifyKind when message.Name is { } name:
                return await ClassifyItemAsync(
                    message.JobId, job.GetDateTimeOffset("CreatedAt") ?? job.Timestamp, name, invocationId, cancellationToken).ConfigureAwait(false);
            default:
                throw new FormatException($"Unknown batch message kind '{LogSanitizer.Clean(message.Kind)}'.");
        }
    }

    /// <summary>
    /// One blob of a job: classified by the pipeline and counted in the job as <see cref="CountedAs"/> says. The one item
    /// step of every batch path (the queue function, <c>resnest worker</c>, <c>resnest tag</c>), so that they count alike.
    /// Returns null when the name is not a valid blob name (counted as failed, nothing classified).
    /// </summary>
    public async Task<ProcessingOutcome?> ClassifyItemAsync(
        string jobId, DateTimeOffset? jobCreatedAt, string name, string invocationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (BlobAddress.Check(storage.Images, name) is not null)
        {
            // Listings produce stored names, which all address their blob (a backslash, `c:` or a control character
            // included); a name that would address another blob was not written by this service.
            PipelineLog.BatchInvalidName(logger, LogSanitizer.Clean(jobId), LogSanitizer.Clean(name));
            await jobs.RecordAsync(jobId, name, OutcomeKind.Failed, "invalid_blob_name", cancellationToken).ConfigureAwait(false);
            return null;
        }

        var outcome = await pipeline.ProcessAsync(storage.Images.GetBlobClient(name), invocationId, cancellationToken).ConfigureAwait(false);
        var (kind, detail) = CountedAs(outcome, jobCreatedAt);
        await jobs.RecordAsync(jobId, name, kind, detail, cancellationToken).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>
    /// How a blob's outcome counts in its job. A skip because the blob is already classified counts as that result when
    /// the result was produced after the job started: the job's own earlier delivery classified it and died before
    /// recording the outcome (a crashed worker), so the redelivery must not report the blob as skipped.
    /// </summary>
    public static (OutcomeKind Kind, string? Detail) CountedAs(ProcessingOutcome outcome, DateTimeOffset? jobCreatedAt)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome is { Kind: OutcomeKind.Skipped, Result: { ProcessedAt: { } processedAt } result }
            && outcome.Detail is SkipReasons.AlreadyClassified or SkipReasons.DuplicateInFlight
            && jobCreatedAt is { } created && processedAt >= created)
        {
            switch (result.Status)
            {
                case ResultStatus.Succeeded:
                    return (OutcomeKind.Succeeded, null);
                case ResultStatus.Failed:
                    return (OutcomeKind.Failed, result.ErrorCode);
            }
        }

        return (outcome.Kind, outcome.Detail);
    }

    /// <summary>
    /// A poison-queue message body: counted like <see cref="RecordPoisonedAsync(BatchMessage, CancellationToken)"/>;
    /// a body that is not one of our messages (it was poisoned for being garbage) has nothing to count.
    /// </summary>
    public async Task RecordPoisonedAsync(string body, CancellationToken cancellationToken)
    {
        BatchMessage parsed;
        try
        {
            parsed = Parse(body);
        }
        catch (JsonException)
        {
            return;
        }

        // Parsed but not ours: a missing or malformed job id or blob name would make the table write throw, and a throw
        // here sends the message to a poison queue of the poison queue, which the identity cannot write.
        if (!BatchJobStore.IsJobId(parsed.JobId) || (parsed.Name is { } name && BlobAddress.Check(storage.Images, name) is not null))
        {
            PipelineLog.BatchUnknownJob(logger, LogSanitizer.Clean(parsed.JobId ?? ""));
            return;
        }

        await RecordPoisonedAsync(parsed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The host gave up on a message (poison queue): count its blob as failed so the job still completes.</summary>
    public async Task RecordPoisonedAsync(BatchMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Kind == BatchMessage.ClassifyKind && message.Name is { } name)
        {
            PipelineLog.BatchPoisoned(logger, LogSanitizer.Clean(message.JobId), LogSanitizer.Clean(name));
            await jobs.RecordAsync(message.JobId, name, OutcomeKind.Failed, "poisoned", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Lists one page of the prefix. With <paramref name="enqueue"/> each blob becomes a classify message and the next page
    /// an enumerate message; without, the names are returned for the caller to process (CLI).
    /// </summary>
    public async Task<(IReadOnlyList<string> Names, string? Continuation)> EnumeratePageAsync(
        BatchMessage message, string prefix, bool enqueue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        int page = message.Page ?? 1;
        var names = new List<string>();
        string? next = null;
        await foreach (var listing in storage.Images.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken)
            .AsPages(message.Continuation, ListingPageSize).ConfigureAwait(false))
        {
            names.AddRange(listing.Values.Select(b => b.Name));
            next = string.IsNullOrEmpty(listing.ContinuationToken) ? null : listing.ContinuationToken;
            break;
        }

        if (enqueue)
        {
            await Parallel.ForEachAsync(
                names,
                new ParallelOptions { MaxDegreeOfParallelism = _options.EnqueueConcurrency, CancellationToken = cancellationToken },
                async (name, ct) => await EnqueueAsync(new BatchMessage(BatchMessage.ClassifyKind, message.JobId, name), ct).ConfigureAwait(false))
                .ConfigureAwait(false);
        }

        // The page row is written after its messages: a crash in between re-lists the page on redelivery, never under-counts.
        // A job lists at most MaxBatchJobBlobs (whole pages): the page that reaches the limit is its last.
        bool truncated = next is not null && (long)page * ListingPageSize >= _options.MaxBatchJobBlobs;
        if (truncated)
        {
            next = null;
        }

        await jobs.RecordPageAsync(message.JobId, page, names.Count, isLast: next is null, truncated, cancellationToken).ConfigureAwait(false);
        if (enqueue && next is not null)
        {
            await EnqueueAsync(new BatchMessage(BatchMessage.EnumerateKind, message.JobId, Page: page + 1, Continuation: next), cancellationToken)
                .ConfigureAwait(false);
        }

        PipelineLog.BatchPageEnqueued(logger, message.JobId, page, names.Count, next is null ? "" : ", more to come");
        return (names, next);
    }

    private async Task EnqueueAsync(BatchMessage message, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(message, PipelineJsonContext.Default.BatchMessage);
        await storage.ClassifyQueue.SendMessageAsync(json, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Parses a queue message body (throws <see cref="JsonException"/> for garbage, which poisons it).</summary>
    public static BatchMessage Parse(string body) =>
        JsonSerializer.Deserialize(body, PipelineJsonContext.Default.BatchMessage)
        ?? throw new JsonException("Empty batch message.");
}
