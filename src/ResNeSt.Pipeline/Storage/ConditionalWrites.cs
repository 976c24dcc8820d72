using Azure;
using Azure.Data.Tables;

namespace ResNeSt.Pipeline.Storage;

/// <summary>
/// The one conditional write the result and index tables use: an update that lands only while the row is as we read
/// it. Losing the race (412: changed since; 404: deleted since) is an answer, not a fault: the caller decides again on
/// what is there now.
/// </summary>
internal static class ConditionalWrites
{
    /// <summary>
    /// Updates <paramref name="entity"/> if the row still has <paramref name="ifMatch"/>; returns the row's new ETag, or
    /// null when another write changed or deleted the row first (nothing of ours was written).
    /// </summary>
    public static async Task<ETag?> TryUpdateAsync<T>(
        this TableClient table, T entity, ETag ifMatch, TableUpdateMode mode, CancellationToken cancellationToken)
        where T : ITableEntity
    {
        try
        {
            var response = await table.UpdateEntityAsync(entity, ifMatch, mode, cancellationToken).ConfigureAwait(false);
            // A missing ETag would make the next conditional write unconditional: refuse it rather than carry on.
            return response.Headers.ETag ?? throw new InvalidOperationException("Table service returned no ETag.");
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return null;
        }
    }
}
