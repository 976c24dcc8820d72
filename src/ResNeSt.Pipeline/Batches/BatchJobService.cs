using System.Globalization;
using System.Text.Json;
using Azure;
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
/// Batch tagging of blobs that already exist. A job is one partition of the jobs table: a <c>job</c> row, one
/// <c>page_N</c> row per enumerated listing page (its blob count) and one <c>item_…</c> row per blob (its outcome).
/// Counting rows instead of incrementing counters makes progress exact under at-least-once delivery and needs no
/// contended ETag loop: a redelivered message rewrites the same row.
/// </summary>
public sealed class BatchJobService(
    PipelineStorage storage,
    ClassificationPipeline pipeline,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<BatchJobService> logger)
{
    public const string JobRowKey = "job";
    private const string PageRowPrefix = "page_";
    private const int ListingPageSize = 1000;

    private readonly PipelineOptions _options = options.Value;
    private readonly TableClient _jobs = storage.BatchJobs;

    // Jobs are never deleted while running, so a job row seen once need not be read again for each of its messages.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TableEntity> _knownJobs = new(StringComparer.Ordinal);

    /// <summary>Creates a job over <paramref name="prefix"/> of the images container and queues its first listing page.</summary>
    public async Task<BatchJobDocument> StartAsync(string prefix, CancellationToken cancellationToken)
    {
        var job = await CreateJobAsync(prefix, cancellationToken).ConfigureAwait(false);
        await EnqueueAsync(new BatchMessage(BatchMessage.EnumerateKind, job.Id, Page: 1), cancellationToken).ConfigureAwait(false);
        return job;
    }

    /// <summary>Creates the job row only (the CLI runs the job in-process instead of through the queue).</summary>
    public async Task<BatchJobDocument> CreateJobAsync(string prefix, CancellationToken cancellationToken)
    {
        ValidatePrefix(prefix);
        var id = Guid.NewGuid().ToString("N");
        var createdAt = time.GetUtcNow();
        var row = new TableEntity(id, JobRowKey)
        {
            ["Container"] = _options.ImagesContainer,
            ["Prefix"] = prefix,
            ["CreatedAt"] = createdAt,
        };
        await _jobs.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
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
            : await GetJobRowAsync(message.JobId, cancellationToken).ConfigureAwait(false);
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
                if (BlobNameRules.Check(name) is not null)
                {
                    // Listings only produce valid names; anything else was not written by this service.
                    PipelineLog.BatchInvalidName(logger, LogSanitizer.Clean(message.JobId), LogSanitizer.Clean(name));
                    await RecordAsync(message.JobId, name, OutcomeKind.Failed, "invalid_blob_name", cancellationToken).ConfigureAwait(false);
                    return null;
                }

                var blob = storage.Images.GetBlobClient(name);
                var outcome = await pipeline.ProcessAsync(blob, invocationId, cancellationToken).ConfigureAwait(false);
                var (kind, detail) = CountedAs(outcome, job.GetDateTimeOffset("CreatedAt") ?? job.Timestamp);
                await RecordAsync(message.JobId, name, kind, detail, cancellationToken).ConfigureAwait(false);
                return outcome;
            default:
                throw new FormatException($"Unknown batch message kind '{LogSanitizer.Clean(message.Kind)}'.");
        }
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

        await RecordPoisonedAsync(parsed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The host gave up on a message (poison queue): count its blob as failed so the job still completes.</summary>
    public async Task RecordPoisonedAsync(BatchMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Kind == BatchMessage.ClassifyKind && message.Name is { } name)
        {
            PipelineLog.BatchPoisoned(logger, LogSanitizer.Clean(message.JobId), LogSanitizer.Clean(name));
            await RecordAsync(message.JobId, name, OutcomeKind.Failed, "poisoned", cancellationToken).ConfigureAwait(false);
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
        var pageRow = new TableEntity(message.JobId, PageRowPrefix + page.ToString("D9", CultureInfo.InvariantCulture))
        {
            ["Count"] = names.Count,
            ["IsLast"] = next is null,
        };
        await _jobs.UpsertEntityAsync(pageRow, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        if (enqueue && next is not null)
        {
            await EnqueueAsync(new BatchMessage(BatchMessage.EnumerateKind, message.JobId, Page: page + 1, Continuation: next), cancellationToken)
                .ConfigureAwait(false);
        }

        PipelineLog.BatchPageEnqueued(logger, message.JobId, page, names.Count, next is null ? "" : ", more to come");
        return (names, next);
    }

    /// <summary>
    /// Records one blob's outcome in its job, idempotently per blob. A skip never overwrites a real outcome: the
    /// redelivery of a message that already succeeded finds the blob classified and must not turn it into "skipped".
    /// </summary>
    public async Task RecordAsync(string jobId, string blobName, OutcomeKind kind, string? detail, CancellationToken cancellationToken)
    {
        var row = new TableEntity(jobId, TableKeys.ForBatchItem(_options.ImagesContainer, blobName))
        {
            ["Name"] = blobName,
            ["Outcome"] = kind.ToString().ToLowerInvariant(),
            ["Detail"] = detail,
        };
        if (kind != OutcomeKind.Skipped)
        {
            await _jobs.UpsertEntityAsync(row, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await _jobs.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Already counted by an earlier delivery.
        }
    }

    /// <summary>The job and its progress, or null when unknown. Reads the job's partition (one row per blob).</summary>
    public async Task<BatchJobDocument?> GetAsync(string jobId, CancellationToken cancellationToken)
    {
        if (!IsJobId(jobId))
        {
            return null;
        }

        var job = await GetJobRowAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (job is null)
        {
            return null;
        }

        int queued = 0, succeeded = 0, failed = 0, skipped = 0;
        bool enumerated = false;
        DateTimeOffset? enumeratedAt = null;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {jobId} and RowKey ne {JobRowKey}");
        await foreach (var row in _jobs.QueryAsync<TableEntity>(filter, 1000, ["RowKey", "Count", "IsLast", "Outcome"], cancellationToken)
            .ConfigureAwait(false))
        {
            if (row.RowKey.StartsWith(PageRowPrefix, StringComparison.Ordinal))
            {
                queued += row.GetInt32("Count") ?? 0;
                if (row.GetBoolean("IsLast") == true)
                {
                    enumerated = true;
                    enumeratedAt = row.Timestamp;
                }
            }
            else
            {
                switch (row.GetString("Outcome"))
                {
                    case "succeeded": succeeded++; break;
                    case "failed": failed++; break;
                    default: skipped++; break;
                }
            }
        }

        string status = !enumerated ? "enumerating" : succeeded + failed + skipped >= queued ? "completed" : "running";
        return new BatchJobDocument(
            jobId,
            job.GetString("Container") ?? _options.ImagesContainer,
            job.GetString("Prefix") ?? "",
            status,
            queued,
            succeeded,
            failed,
            skipped,
            job.GetDateTimeOffset("CreatedAt") ?? job.Timestamp ?? default,
            enumeratedAt);
    }

    public static bool IsJobId(string? jobId) => jobId is { Length: 32 } && jobId.All(char.IsAsciiHexDigitLower);

    private async Task<TableEntity?> GetJobRowAsync(string jobId, CancellationToken cancellationToken)
    {
        if (!IsJobId(jobId))
        {
            return null;
        }

        var response = await _jobs.GetEntityIfExistsAsync<TableEntity>(jobId, JobRowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
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
