using Azure;
using Azure.Data.Tables;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Results;

/// <summary>
/// The label index: one row per succeeded result in the partition of its top-1 label, kept in step with the result
/// table without a transaction across the two. A result names its index row (and an earlier version's row still to
/// delete), so the index can always be repaired from the result alone, and never holds two rows for one blob.
/// </summary>
public sealed class LabelIndex(PipelineStorage storage, TimeProvider time)
{
    private static readonly string[] s_indexColumns = [nameof(ResultEntity.IndexPartitionKey), nameof(ResultEntity.IndexRowKey)];

    private readonly TableClient _results = storage.Results;
    private readonly TableClient _index = storage.LabelIndex;

    /// <summary>
    /// Names in <paramref name="result"/> the index row it will own, and the row of the earlier result
    /// (<paramref name="replaced"/>) that becomes superseded, before the result is written over the earlier one.
    /// </summary>
    public void NameRows(ResultEntity replaced, ResultEntity result)
    {
        ArgumentNullException.ThrowIfNull(replaced);
        ArgumentNullException.ThrowIfNull(result);
        if (result.Status == ResultStatus.Succeeded && result.Top1Label is { } label)
        {
            result.IndexPartitionKey = TableKeys.ForLabel(label);
            result.IndexRowKey = TableKeys.ForLabelIndexRow(result.ProcessedAt ??= time.GetUtcNow(), result.PartitionKey, result.RowKey);
        }

        bool hasOld = replaced.IndexPartitionKey is not null && replaced.IndexRowKey is not null
            && (replaced.IndexPartitionKey != result.IndexPartitionKey || replaced.IndexRowKey != result.IndexRowKey);
        result.SupersededIndexPartitionKey = hasOld ? replaced.IndexPartitionKey : replaced.SupersededIndexPartitionKey;
        result.SupersededIndexRowKey = hasOld ? replaced.IndexRowKey : replaced.SupersededIndexRowKey;
    }

    /// <summary>
    /// Makes the label index agree with a final result: writes the index row the result names (idempotent: the row is
    /// derived from the result alone) and deletes an earlier version's row the result still remembers.
    /// </summary>
    public async Task RepairAsync(ResultEntity result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Status == ResultStatus.Succeeded && result.IndexPartitionKey is { } partitionKey && result.IndexRowKey is { } rowKey
            && result.Top1Label is { } label)
        {
            var indexRow = new LabelIndexEntity
            {
                PartitionKey = partitionKey,
                RowKey = rowKey,
                Container = result.Container,
                BlobName = result.BlobName,
                BlobETag = result.BlobETag,
                Label = label,
                ClassIndex = result.Top1Index ?? -1,
                Probability = result.Top1Probability ?? 0,
                ModelVariant = result.ModelVariant,
                ProcessedAt = result.ProcessedAt ?? time.GetUtcNow(),
            };
            await _index.UpsertEntityAsync(indexRow, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

            // The two tables share no transaction, and an SDK retry can hold this write back for seconds: by the time
            // it lands, a newer version of the blob may have taken the result row over and already deleted this row
            // as superseded. Read the result back; a row it no longer names is withdrawn, so the index never keeps
            // two rows for one blob.
            var current = await _results.GetEntityIfExistsAsync<ResultEntity>(
                result.PartitionKey, result.RowKey, s_indexColumns, cancellationToken).ConfigureAwait(false);
            if (!current.HasValue || current.Value!.IndexPartitionKey != partitionKey || current.Value.IndexRowKey != rowKey)
            {
                await DeleteRowAsync(partitionKey, rowKey, cancellationToken).ConfigureAwait(false);
            }
        }

        await CleanupSupersededAsync(result, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes an earlier version's index row left behind (by this write or by a crash before it).</summary>
    public async Task CleanupSupersededAsync(ResultEntity result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.SupersededIndexPartitionKey is not { } partitionKey || result.SupersededIndexRowKey is not { } rowKey)
        {
            return;
        }

        await DeleteRowAsync(partitionKey, rowKey, cancellationToken).ConfigureAwait(false);

        // Merge cannot remove a property (nulls are not sent), so the whole row is replaced, conditional on its ETag.
        result.SupersededIndexPartitionKey = null;
        result.SupersededIndexRowKey = null;
        // No ETag back: a newer write owns the row now and carries its own bookkeeping.
        if (await _results.TryUpdateAsync(result, result.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false) is { } replaced)
        {
            result.ETag = replaced;
        }
    }

    private async Task DeleteRowAsync(string partitionKey, string rowKey, CancellationToken cancellationToken)
    {
        try
        {
            await _index.DeleteEntityAsync(partitionKey, rowKey, ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // Already gone.
        }
    }
}
