using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Batches;

/// <summary>
/// The jobs table. A job is one partition: a <c>job</c> row, one <c>page_N</c> row per enumerated listing page (its
/// blob count), one <c>item_…</c> row per blob (its outcome) and <see cref="CounterShards"/> <c>count_NN</c> rows
/// holding the outcome counts. An item row and its counter row change in one entity-group transaction, conditional on
/// both ETags, so a count moves exactly when an item row is added or changes its outcome: a redelivered message finds
/// its row and counts nothing, and progress is exact under at-least-once delivery. Reading progress reads the counter
/// and page rows only, never one row per blob. Running jobs are listed in the <c>active</c> partition so that a new job
/// can be refused beyond <see cref="PipelineOptions.MaxActiveBatchJobs"/>.
/// </summary>
public sealed class BatchJobStore(PipelineStorage storage, IOptions<PipelineOptions> options)
{
    public const string JobRowKey = "job";
    private const string PageRowPrefix = "page_";
    private const string CounterRowPrefix = "count_";
    private const string ActivePartition = "active";

    /// <summary>Counter rows per job: a blob always counts in the same one, so concurrent workers rarely race on one.</summary>
    public const int CounterShards = 16;

    private readonly PipelineOptions _options = options.Value;
    private readonly TableClient _jobs = storage.BatchJobs;

    /// <summary>Adds the row of a new job over <paramref name="prefix"/> of the images container; returns its id.</summary>
    public async Task<string> CreateAsync(string prefix, DateTimeOffset createdAt, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var row = new TableEntity(id, JobRowKey)
        {
            ["Container"] = _options.ImagesContainer,
            ["Prefix"] = prefix,
            ["CreatedAt"] = createdAt,
        };
        await _jobs.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <summary>Lists the job as running, for <see cref="CountActiveAsync"/>.</summary>
    public Task MarkActiveAsync(string jobId, CancellationToken cancellationToken) =>
        _jobs.UpsertEntityAsync(new TableEntity(ActivePartition, jobId), TableUpdateMode.Replace, cancellationToken);

    /// <summary>
    /// Jobs listed as running that have not completed; completed (or vanished) ones are taken off the list on the way.
    /// Two requests racing past the check can both start: the limit bounds abuse, it is not a lock.
    /// </summary>
    public async Task<int> CountActiveAsync(CancellationToken cancellationToken)
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

    /// <summary>
    /// Records listing page <paramref name="page"/> of a job: how many blobs it queued, and whether it was the last
    /// (<paramref name="truncated"/>: the last because the job reached <see cref="PipelineOptions.MaxBatchJobBlobs"/>).
    /// Idempotent: a re-listed page overwrites its row.
    /// </summary>
    public async Task RecordPageAsync(string jobId, int page, int count, bool isLast, bool truncated, CancellationToken cancellationToken)
    {
        var pageRow = new TableEntity(jobId, PageRowPrefix + page.ToString("D9", CultureInfo.InvariantCulture))
        {
            ["Count"] = count,
            ["IsLast"] = isLast,
            ["Truncated"] = truncated,
        };
        await _jobs.UpsertEntityAsync(pageRow, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
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

    /// <summary>A job id as <see cref="CreateAsync"/> makes them: 32 lower-case hex digits (anything else names no job).</summary>
    public static bool IsJobId(string? jobId) => jobId is { Length: 32 } && jobId.All(char.IsAsciiHexDigitLower);

    /// <summary>The job row, or null when <paramref name="jobId"/> names no job.</summary>
    public async Task<TableEntity?> GetJobRowAsync(string jobId, CancellationToken cancellationToken)
    {
        if (!IsJobId(jobId))
        {
            return null;
        }

        var response = await _jobs.GetEntityIfExistsAsync<TableEntity>(jobId, JobRowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }
}
