using System.Text;
using Azure;
using Azure.Data.Tables;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Results;

/// <summary>What <see cref="ResultStore.ClaimAsync"/> found.</summary>
public enum ClaimStatus
{
    /// <summary>This invocation owns the blob version now.</summary>
    Claimed,
    /// <summary>A final result for this exact version exists.</summary>
    AlreadyDone,
    /// <summary>Another invocation claimed this version recently and has not finished.</summary>
    HeldElsewhere,
    /// <summary>A result for a newer version of the blob exists; this version is history.</summary>
    Superseded,
}

public sealed record ClaimResult(ClaimStatus Status, ResultEntity Entity);

/// <summary>
/// The result table and the label index. Every write that could race another invocation is ETag-conditional,
/// so concurrent duplicate deliveries and overwrites can never leave two index rows for one blob.
/// </summary>
public sealed class ResultStore(PipelineStorage storage, TimeProvider time)
{
    private const int MaxClaimAttempts = 8;

    private readonly TableClient _results = storage.Results;
    private readonly TableClient _index = storage.LabelIndex;

    /// <summary>Point lookup of the result for a blob.</summary>
    public async Task<ResultEntity?> GetAsync(string container, string blobName, CancellationToken cancellationToken)
    {
        var (partitionKey, rowKey) = TableKeys.ForResult(container, blobName);
        var response = await _results.GetEntityIfExistsAsync<ResultEntity>(partitionKey, rowKey, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        if (!response.HasValue || response.Value is not { } entity)
        {
            return null;
        }

        // A hashed key is trusted only together with the full name it stands for.
        return entity.Container == container && entity.BlobName == blobName ? entity : null;
    }

    /// <summary>
    /// Claims one blob version for this invocation, unless it is already classified, or being classified by another
    /// live invocation, or older than the stored result.
    /// </summary>
    public async Task<ClaimResult> ClaimAsync(
        BlobRef blob, DateTimeOffset blobLastModified, string claimId, TimeSpan claimTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var etag = blob.ETag ?? throw new ArgumentException("A claim needs the blob's ETag.", nameof(blob));
        for (int attempt = 0; attempt < MaxClaimAttempts; attempt++)
        {
            var now = time.GetUtcNow();
            // Most events are first uploads with no row yet: try the insert first and read only when it conflicts,
            // which saves a round-trip per new blob.
            var existing = attempt == 0 ? null : await GetAsync(blob.Container, blob.Name, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                var (partitionKey, rowKey) = TableKeys.ForResult(blob);
                var fresh = new ResultEntity
                {
                    PartitionKey = partitionKey,
                    RowKey = rowKey,
                    Container = blob.Container,
                    BlobName = blob.Name,
                    Status = ResultStatus.Processing,
                    ClaimETag = etag,
                    ClaimId = claimId,
                    ClaimedAt = now,
                };
                try
                {
                    var added = await _results.AddEntityAsync(fresh, cancellationToken).ConfigureAwait(false);
                    fresh.ETag = added.Headers.ETag ?? throw new InvalidOperationException("Table service returned no ETag.");
                    return new ClaimResult(ClaimStatus.Claimed, fresh);
                }
                catch (RequestFailedException ex) when (ex.Status == 409)
                {
                    continue; // another delivery created it first: look again
                }
            }

            if (existing.Status != ResultStatus.Processing && existing.BlobETag == etag)
            {
                return new ClaimResult(ClaimStatus.AlreadyDone, existing);
            }

            if (existing.Status != ResultStatus.Processing && existing.BlobLastModified is { } storedModified && storedModified > blobLastModified)
            {
                return new ClaimResult(ClaimStatus.Superseded, existing);
            }

            if (existing.ClaimETag == etag && existing.ClaimId != claimId && existing.ClaimedAt is { } claimedAt
                && now - claimedAt < claimTimeout)
            {
                return new ClaimResult(ClaimStatus.HeldElsewhere, existing);
            }

            var claim = new TableEntity(existing.PartitionKey, existing.RowKey)
            {
                [nameof(ResultEntity.ClaimETag)] = etag,
                [nameof(ResultEntity.ClaimId)] = claimId,
                [nameof(ResultEntity.ClaimedAt)] = now,
            };
            try
            {
                var updated = await _results.UpdateEntityAsync(claim, existing.ETag, TableUpdateMode.Merge, cancellationToken)
                    .ConfigureAwait(false);
                existing.ETag = updated.Headers.ETag ?? throw new InvalidOperationException("Table service returned no ETag.");
                existing.ClaimETag = etag;
                existing.ClaimId = claimId;
                existing.ClaimedAt = now;
                return new ClaimResult(ClaimStatus.Claimed, existing);
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                // Someone wrote in between: decide again on what is there now.
            }
        }

        throw new RequestFailedException(409, $"Could not claim {blob} after {MaxClaimAttempts} attempts: the result row is contended.");
    }

    private static readonly string[] s_indexColumns = [nameof(ResultEntity.IndexPartitionKey), nameof(ResultEntity.IndexRowKey)];

    /// <summary>
    /// Replaces the claimed row with the final result and moves the label index entry: the result (conditional on our
    /// claim) is written first, naming its index row; the index row second; the old index row is deleted last.
    /// Returns false when the claim was lost to another invocation, in which case nothing of ours was written.
    /// A process killed between the two writes leaves a result whose index row is missing, never an index row without
    /// a result: the redelivery finds the result and <see cref="RepairIndexAsync"/> writes the row it names.
    /// </summary>
    public async Task<bool> CompleteAsync(ResultEntity claimed, ResultEntity result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        ArgumentNullException.ThrowIfNull(result);
        result.PartitionKey = claimed.PartitionKey;
        result.RowKey = claimed.RowKey;

        if (result.Status == ResultStatus.Succeeded && result.Top1Label is { } label)
        {
            result.IndexPartitionKey = TableKeys.ForLabel(label);
            result.IndexRowKey = TableKeys.ForLabelIndexRow(result.ProcessedAt ??= time.GetUtcNow(), result.PartitionKey, result.RowKey);
        }

        bool hasOld = claimed.IndexPartitionKey is not null && claimed.IndexRowKey is not null
            && (claimed.IndexPartitionKey != result.IndexPartitionKey || claimed.IndexRowKey != result.IndexRowKey);
        result.SupersededIndexPartitionKey = hasOld ? claimed.IndexPartitionKey : claimed.SupersededIndexPartitionKey;
        result.SupersededIndexRowKey = hasOld ? claimed.IndexRowKey : claimed.SupersededIndexRowKey;
        result.ClaimETag = null;
        result.ClaimId = null;
        result.ClaimedAt = null;

        try
        {
            var response = await _results.UpdateEntityAsync(result, claimed.ETag, TableUpdateMode.Replace, cancellationToken)
                .ConfigureAwait(false);
            result.ETag = response.Headers.ETag ?? default;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return false;
        }

        await RepairIndexAsync(result, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Makes the label index agree with a final result: writes the index row the result names (idempotent: the row is
    /// derived from the result alone) and deletes an earlier version's row the result still remembers.
    /// </summary>
    public async Task RepairIndexAsync(ResultEntity result, CancellationToken cancellationToken)
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
                await DeleteIndexRowAsync(partitionKey, rowKey, cancellationToken).ConfigureAwait(false);
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

        await DeleteIndexRowAsync(partitionKey, rowKey, cancellationToken).ConfigureAwait(false);

        // Merge cannot remove a property (nulls are not sent), so the whole row is replaced, conditional on its ETag.
        result.SupersededIndexPartitionKey = null;
        result.SupersededIndexRowKey = null;
        try
        {
            var response = await _results.UpdateEntityAsync(result, result.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            result.ETag = response.Headers.ETag ?? default;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // A newer write owns the row now and carries its own bookkeeping.
        }
    }

    /// <summary>Gives a claim back after a transient failure so that the retry does not wait for the claim to expire.</summary>
    public async Task ReleaseClaimAsync(ResultEntity claimed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        claimed.ClaimETag = null;
        claimed.ClaimId = null;
        claimed.ClaimedAt = null;
        try
        {
            // The claimed row is the full stored row plus our claim: replacing it clears exactly the claim.
            var response = await _results.UpdateEntityAsync(claimed, claimed.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            claimed.ETag = response.Headers.ETag ?? default;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            // Already taken over or replaced.
        }
    }

    /// <summary>
    /// Results whose top-1 is <paramref name="label"/>, newest first: one range scan of one partition. Values reach the
    /// filter only through <see cref="TableClient.CreateQueryFilter(FormattableString)"/>.
    /// </summary>
    public async Task<LabelResultPage> QueryByLabelAsync(
        string label, double minProbability, int top, string? continuationToken, CancellationToken cancellationToken)
    {
        var partitionKey = TableKeys.ForLabel(label);
        // The SDK writes a double with its round-trip format, which turns 1e-5 into "1E-05": not an OData literal the
        // service compares with, so every small threshold matched nothing. A fixed-point literal is (the value is a
        // validated double from LabelQuery, never text from the caller).
        var filter = minProbability > 0
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}") + " and Probability ge "
                + minProbability.ToString("0.0###################", System.Globalization.CultureInfo.InvariantCulture)
            : TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}");
        var tableToken = continuationToken is null ? null : DecodeContinuationToken(continuationToken);
        await foreach (var page in _index.QueryAsync<LabelIndexEntity>(filter, top, cancellationToken: cancellationToken)
            .AsPages(tableToken, top).ConfigureAwait(false))
        {
            var items = page.Values
                .Select(e => new LabelResultDocument(e.Container, e.BlobName, e.BlobETag, e.Label, e.ClassIndex, e.Probability, e.ModelVariant, e.ProcessedAt))
                .ToArray();
            var next = string.IsNullOrEmpty(page.ContinuationToken) ? null : EncodeContinuationToken(page.ContinuationToken);
            return new LabelResultPage(label, items, next);
        }

        return new LabelResultPage(label, [], null);
    }

    /// <summary>Continuation tokens travel as opaque base64url so that clients do not build them.</summary>
    public static string EncodeContinuationToken(string tableToken) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(tableToken)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Throws <see cref="FormatException"/> for anything <see cref="EncodeContinuationToken"/> cannot have produced.</summary>
    public static string DecodeContinuationToken(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length is 0 or > 4096)
        {
            throw new FormatException("The continuation token is empty or too long.");
        }

        var base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(base64));
        }
        catch (Exception ex) when (ex is FormatException or DecoderFallbackException)
        {
            throw new FormatException("The continuation token is not one this API issued.", ex);
        }

        // The table token is "<next partition key> <next row key>"; keys contain no control characters.
        if (decoded.Split(' ').Length != 2 || decoded.Any(char.IsControl))
        {
            throw new FormatException("The continuation token is not one this API issued.");
        }

        return decoded;
    }

    private async Task DeleteIndexRowAsync(string partitionKey, string rowKey, CancellationToken cancellationToken)
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

    /// <summary>Maps a stored row to the API document.</summary>
    public static ResultDocument ToDocument(ResultEntity entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        var predictions = entity.Predictions is null
            ? null
            : System.Text.Json.JsonSerializer.Deserialize(entity.Predictions, PipelineJsonContext.Default.PredictionDocumentArray);
        bool final = entity.Status != ResultStatus.Processing;
        return new ResultDocument(
            entity.Container,
            entity.BlobName,
            entity.Status,
            final ? entity.BlobETag : entity.ClaimETag,
            entity.Top1Index is { } index && entity.Top1Label is { } label ? new PredictionDocument(index, label, entity.Top1Probability ?? 0) : null,
            predictions,
            entity.ModelVariant is { } variant ? new ModelDocument(variant, entity.ModelSha256, entity.Recipe, entity.CropSize, entity.ExecutionProvider) : null,
            final ? new ImageDocument(entity.ImageFormat, entity.ImageWidth, entity.ImageHeight, entity.ContentLength) : null,
            entity.ProcessedAt is null ? null : new TimingsDocument(entity.DownloadMs, entity.DecodeAndPreprocessMs, entity.QueueWaitMs, entity.InferenceMs, entity.BatchSize),
            entity.ProcessedAt,
            entity.ErrorCode is { } code ? new ErrorDocument(code, entity.ErrorMessage ?? code) : null);
    }
}
