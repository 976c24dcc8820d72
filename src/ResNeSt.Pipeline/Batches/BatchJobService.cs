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
/// <c>page_N</c> row per enumerated listing page (its blob count), one <c>item_…</c> row per blob (its outcome) and
/// <see cref="CounterShards"/> <c>count_NN</c> rows holding the outcome counts. An item row and its counter row change
/// in one entity-group transaction, conditional on both ETags, so a count moves exactly when an item row is added or
/// changes its outcome: a redelivered message finds its row and counts nothing, and progress is exact under
/// at-least-once delivery. Reading progress reads the counter and page rows only, never one row per blob. Running jobs
/// are listed in the <c>active</c> partition so that a new job can be refused beyond
/// <see cref="PipelineOptions.MaxActiveBatchJobs"/>.
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
    private const string CounterRowPrefix = "count_";
    private const string ActivePartition = "active";

    /// <summary>Counter rows per job: a blob always counts in the same one, so concurrent workers rarely race on one.</summary>
    public const int CounterShards = 16;

    private readonly PipelineOptions _options = options.Value;
    private readonly TableClient _jobs = storage.BatchJobs;

    // Jobs are never deleted while running, so a job row seen once need not be read again for each of its messages.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TableEntity> _knownJobs = new(StringComparer.Ordinal);

    /// <summary>Creates a job over <paramref name="prefix"/> of the images container and queues its first listing page.</summary>
    /// <exception cref="BatchJobLimitException">As many jobs as <see cref="PipelineOptions.MaxActiveBatchJobs"/> are running.</exception>
    public async Task<BatchJobDocument> StartAsync(string prefix, CancellationToken cancellationToken)
    {
        ValidatePrefix(prefix);
        int active = await CountActiveJobsAsync(cancellationToken).ConfigureAwait(false);
        if (active >= _options.MaxActiveBatchJobs)
        {
            throw new BatchJobLimitException(active, _options.MaxActiveBatchJobs);
        }

        var job = await CreateJobAsync(prefix, cancellationToken).ConfigureAwait(false);
        await _jobs.UpsertEntityAsync(new TableEntity(ActivePartition, job.Id), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        await EnqueueAsync(new BatchMessage(BatchMessage.EnumerateKind, job.Id, Page: 1), cancellationToken).ConfigureAwait(false);
        return job;
    }

    /// <summary>
    /// Jobs listed as running that have not completed; completed (or vanished) ones are taken off the list on the way.
    /// Two requests racing past the check can both start: the limit bounds abuse, it is not a lock.
    /// </summary>
    private async Task<int> CountActiveJobsAsync(CancellationToken cancellationToken)
    {
        int active = 0;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {ActivePartition}");
        await foreach (var row in _jobs.QueryAsync<TableEntity>(filter, 100, ["RowKey"], cancellationToken).ConfigureAwait(false))
        {
            var job = await GetAsync(row.RowKey, cancellationToken).ConfigureAwait(false);
            if (job is null || job.Status == "completed")
            {
                await _jobs.DeleteEntityAsync(ActivePartition, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                active++;
            }
        }

        return active;
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
            await RecordAsync(jobId, name, OutcomeKind.Failed, "invalid_blob_name", cancellationToken).ConfigureAwait(false);
            return null;
        }

        var outcome = await pipeline.ProcessAsync(storage.Images.GetBlobClient(name), invocationId, cancellationToken).ConfigureAwait(false);
        var (kind, detail) = CountedAs(outcome, jobCreatedAt);
        await RecordAsync(jobId, name, kind, detail, cancellationToken).ConfigureAwait(false);
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
        if (!IsJobId(parsed.JobId) || (parsed.Name is { } name && BlobAddress.Check(storage.Images, name) is not null))
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
        // A job lists at most MaxBatchJobBlobs (whole pages): the page that reaches the limit is its last.
        bool truncated = next is not null && (long)page * ListingPageSize >= _options.MaxBatchJobBlobs;
        if (truncated)
        {
            next = null;
        }

        var pageRow = new TableEntity(message.JobId, PageRowPrefix + page.ToString("D9", CultureInfo.InvariantCulture))
        {
            ["Count"] = names.Count,
            ["IsLast"] = next is null,
            ["Truncated"] = truncated,
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
    /// Records one blob's outcome in its job, idempotently per blob: the item row and its counter row change together
    /// (one transaction, conditional on what was read), so a redelivery counts nothing twice and a crash between the two
    /// writes cannot happen. A skip never overwrites a real outcome: the redelivery of a message that already succeeded
    /// finds the blob classified and must not turn it into "skipped".
    /// </summary>
    public async Task RecordAsync(string jobId, string blobName, OutcomeKind kind, string? detail, CancellationToken cancellationToken)
    {
        string itemKey = TableKeys.ForBatchItem(_options.ImagesContainer, blobName);
        string counterKey = CounterRowPrefix + ((uint)StableHash(itemKey) % CounterShards).ToString("D2", CultureInfo.InvariantCulture);
        string outcome = kind.ToString().ToLowerInvariant();
        for (int attempt = 1; ; attempt++)
        {
            var item = await GetRowAsync(jobId, itemKey, cancellationToken).ConfigureAwait(false);
            string? previous = item?.GetString("Outcome");
            if (item is not null && (kind == OutcomeKind.Skipped || (previous == outcome && item.GetString("Detail") == detail)))
            {
                return; // already counted
            }

            var counter = await GetRowAsync(jobId, counterKey, cancellationToken).ConfigureAwait(false);
            var counts = new TableEntity(jobId, counterKey);
            foreach (string column in s_counterColumns)
            {
                counts[column] = counter?.GetInt64(column) ?? 0L;
            }

            counts[CounterColumn(outcome)] = (long)counts[CounterColumn(outcome)] + 1;
            if (previous is not null)
            {
                counts[CounterColumn(previous)] = (long)counts[CounterColumn(previous)] - 1;
            }

            var row = new TableEntity(jobId, itemKey)
            {
                ["Name"] = blobName,
                ["Outcome"] = outcome,
                ["Detail"] = detail,
            };
            TableTransactionAction[] actions =
            [
                item is null ? new(TableTransactionActionType.Add, row) : new(TableTransactionActionType.UpdateReplace, row, item.ETag),
                counter is null ? new(TableTransactionActionType.Add, counts) : new(TableTransactionActionType.UpdateReplace, counts, counter.ETag),
            ];
            try
            {
                await _jobs.SubmitTransactionAsync(actions, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is 409 or 412 && attempt < 100)
            {
                // Another worker changed the item or its counter row since they were read: read both again.
                await Task.Delay(Random.Shared.Next(1, 5 * Math.Min(attempt, 20)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static readonly string[] s_counterColumns = ["Succeeded", "Failed", "Skipped"];

    private static string CounterColumn(string outcome) => outcome switch
    {
        "succeeded" => "Succeeded",
        "failed" => "Failed",
        _ => "Skipped",
    };

    // string.GetHashCode differs between processes; the shard of a blob must not.
    private static int StableHash(string text)
    {
        unchecked
        {
            int hash = (int)2166136261;
            foreach (char c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return hash;
        }
    }

    private async Task<TableEntity?> GetRowAsync(string partition, string row, CancellationToken cancellationToken)
    {
        var response = await _jobs.GetEntityIfExistsAsync<TableEntity>(partition, row, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// The job and its progress, or null when unknown. Reads the job, counter and page rows (one per 1000 blobs listed),
    /// never the row of every blob.
    /// </summary>
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

        long queued = 0, succeeded = 0, failed = 0, skipped = 0;
        bool enumerated = false, truncated = false;
        DateTimeOffset? enumeratedAt = null;
        string countersEnd = CounterRowPrefix[..^1] + (char)(CounterRowPrefix[^1] + 1);
        string pagesEnd = PageRowPrefix[..^1] + (char)(PageRowPrefix[^1] + 1);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {jobId} and ((RowKey ge {CounterRowPrefix} and RowKey lt {countersEnd}) or (RowKey ge {PageRowPrefix} and RowKey lt {pagesEnd}))");
        await foreach (var row in _jobs.QueryAsync<TableEntity>(filter, 1000, ["RowKey", "Count", "IsLast", "Truncated", .. s_counterColumns], cancellationToken)
            .ConfigureAwait(false))
        {
            if (row.RowKey.StartsWith(PageRowPrefix, StringComparison.Ordinal))
            {
                queued += row.GetInt32("Count") ?? 0;
                if (row.GetBoolean("IsLast") == true)
                {
                    enumerated = true;
                    enumeratedAt = row.Timestamp;
                    truncated = row.GetBoolean("Truncated") == true;
                }
            }
            else
            {
                succeeded += row.GetInt64("Succeeded") ?? 0;
                failed += row.GetInt64("Failed") ?? 0;
                skipped += row.GetInt64("Skipped") ?? 0;
            }
        }

        string status = !enumerated ? "enumerating" : succeeded + failed + skipped >= queued ? "completed" : "running";
        return new BatchJobDocument(
            jobId,
            job.GetString("Container") ?? _options.ImagesContainer,
            job.GetString("Prefix") ?? "",
            status,
            (int)queued,
            (int)succeeded,
            (int)failed,
            (int)skipped,
            job.GetDateTimeOffset("CreatedAt") ?? job.Timestamp ?? default,
            enumeratedAt,
            truncated);
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
