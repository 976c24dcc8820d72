using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Claims;

/// <summary>
/// The claim protocol on the result row of a blob: an invocation claims one blob version (unless it is done, newer
/// than it, or claimed by another live invocation), completes the claim with the final result, or releases it after a
/// transient failure. Every write is conditional on the row's ETag; a write that loses a race decides again on what is
/// there now, in one bounded retry loop (<see cref="ContendAsync{T}"/>) that ends in <see cref="ClaimContendedException"/>.
/// </summary>
public sealed class ResultClaims(PipelineStorage storage, ResultStore results, LabelIndex index, TimeProvider time, ILogger<ResultClaims> logger)
{
    /// <summary>Attempts of one claim or one store before the row counts as contended.</summary>
    public const int MaxAttempts = 8;

    private readonly TableClient _results = storage.Results;

    /// <summary>
    /// Claims one blob version for this invocation, unless it is already classified, or being classified by another
    /// live invocation, or older than the stored result. A version already done gets its label index row repaired
    /// first: a delivery killed after storing the result may have left it unwritten.
    /// </summary>
    public async Task<ClaimResult> ClaimAsync(
        BlobRef blob, DateTimeOffset blobLastModified, string claimId, TimeSpan claimTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        _ = blob.ETag ?? throw new ArgumentException("A claim needs the blob's ETag.", nameof(blob));
        // Most events are first uploads with no row yet: the first attempt inserts without reading, which saves a
        // round-trip per new blob.
        var claim = await ContendAsync(blob, attempt => TryClaimAsync(blob, blobLastModified, claimId, claimTimeout, readFirst: attempt > 0, cancellationToken))
            .ConfigureAwait(false);
        if (claim.Status == ClaimStatus.AlreadyDone)
        {
            await index.RepairAsync(claim.Entity, cancellationToken).ConfigureAwait(false);
        }

        return claim;
    }

    /// <summary>
    /// Stores <paramref name="result"/> on the row claimed by <paramref name="claim"/>. Another invocation may have taken
    /// the row over meanwhile (a racing older version, or a claim released after a failure); our result is still valid
    /// for our ETag, so the row is claimed again and the result stored, unless it now holds this version's result or a
    /// newer version's (returned: nothing of ours was written), or a live claim on this version
    /// (<see cref="BlobBusyException"/>). Returns null once the result is stored.
    /// </summary>
    public Task<ClaimResult?> StoreAsync(
        ClaimResult claim, ResultEntity result, DateTimeOffset blobLastModified, TimeSpan claimTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(result);
        var blob = new BlobRef(claim.Entity.Container, claim.Entity.BlobName, claim.Entity.ClaimETag);
        var claimId = claim.Entity.ClaimId ?? throw new ArgumentException("The row is not claimed.", nameof(claim));
        var claimed = claim.Entity;
        return ContendAsync<ClaimResult?>(blob, async _ =>
        {
            if (claimed is not null)
            {
                if (await CompleteAsync(claimed, result, cancellationToken).ConfigureAwait(false))
                {
                    return Decided<ClaimResult?>.Done(null);
                }

                PipelineLog.ClaimLost(logger);
                claimed = null;
            }

            var again = await TryClaimAsync(blob, blobLastModified, claimId, claimTimeout, readFirst: true, cancellationToken).ConfigureAwait(false);
            if (!again.HasValue)
            {
                return Decided<ClaimResult?>.Retry;
            }

            switch (again.Value.Status)
            {
                case ClaimStatus.Claimed:
                    claimed = again.Value.Entity;
                    return Decided<ClaimResult?>.Retry;
                case ClaimStatus.HeldElsewhere:
                    throw new BlobBusyException($"{blob} is being classified by invocation {again.Value.Entity.ClaimId}.");
                default:
                    return Decided<ClaimResult?>.Done(again.Value);
            }
        });
    }

    /// <summary>
    /// Replaces the claimed row with the final result and moves the label index entry: the result (conditional on our
    /// claim) is written first, naming its index row; the index row second; the old index row is deleted last.
    /// Returns false when the claim was lost to another invocation, in which case nothing of ours was written.
    /// A process killed between the two writes leaves a result whose index row is missing, never an index row without
    /// a result: the redelivery finds the result and <see cref="LabelIndex.RepairAsync"/> writes the row it names.
    /// </summary>
    public async Task<bool> CompleteAsync(ResultEntity claimed, ResultEntity result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        ArgumentNullException.ThrowIfNull(result);
        result.PartitionKey = claimed.PartitionKey;
        result.RowKey = claimed.RowKey;
        index.NameRows(claimed, result);
        result.ClaimETag = null;
        result.ClaimId = null;
        result.ClaimedAt = null;

        if (await _results.TryUpdateAsync(result, claimed.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false) is not { } stored)
        {
            return false;
        }

        result.ETag = stored;
        await index.RepairAsync(result, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Gives a claim back after a transient failure so that the retry does not wait for the claim to expire.</summary>
    public async Task ReleaseAsync(ResultEntity claimed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claimed);
        claimed.ClaimETag = null;
        claimed.ClaimId = null;
        claimed.ClaimedAt = null;
        // The claimed row is the full stored row plus our claim: replacing it clears exactly the claim. No ETag back:
        // the row was already taken over or replaced, which is what a release wants too.
        if (await _results.TryUpdateAsync(claimed, claimed.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false) is { } released)
        {
            claimed.ETag = released;
        }
    }

    /// <summary>
    /// <see cref="ReleaseAsync"/> after a failure, best effort and even when the invocation is cancelled: a claim left
    /// held would make the retry wait for it to expire, which it does on its own after the claim timeout.
    /// </summary>
    public async Task ReleaseAfterFailureAsync(ResultEntity claimed)
    {
        try
        {
            using var release = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await ReleaseAsync(claimed, release.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException)
        {
            // The claim expires on its own.
        }
    }

    /// <summary>The one retry loop: runs <paramref name="attempt"/> until it decides, at most <see cref="MaxAttempts"/> times.</summary>
    private static async Task<T> ContendAsync<T>(BlobRef blob, Func<int, Task<Decided<T>>> attempt)
    {
        for (int i = 0; i < MaxAttempts; i++)
        {
            var decided = await attempt(i).ConfigureAwait(false);
            if (decided.HasValue)
            {
                return decided.Value;
            }
        }

        throw new ClaimContendedException($"{blob}: the result row kept changing over {MaxAttempts} attempts.");
    }

    /// <summary>One decision on the row as it is now, and one conditional write; no value when a write lost a race.</summary>
    private async Task<Decided<ClaimResult>> TryClaimAsync(
        BlobRef blob, DateTimeOffset blobLastModified, string claimId, TimeSpan claimTimeout, bool readFirst, CancellationToken cancellationToken)
    {
        var etag = blob.ETag!;
        var now = time.GetUtcNow();
        var existing = readFirst ? await results.GetAsync(blob.Container, blob.Name, cancellationToken).ConfigureAwait(false) : null;
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
                return Decided<ClaimResult>.Done(new ClaimResult(ClaimStatus.Claimed, fresh));
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                return Decided<ClaimResult>.Retry; // another delivery created it first: look again
            }
        }

        // A version recorded as undelivered (the host gave up on it) is not done: its next delivery classifies it.
        if (existing.Status != ResultStatus.Processing && existing.BlobETag == etag
            && !(existing.Status == ResultStatus.Failed && Redrive.UndeliveredReasons.IsUndelivered(existing.ErrorCode)))
        {
            return Decided<ClaimResult>.Done(new ClaimResult(ClaimStatus.AlreadyDone, existing));
        }

        if (existing.Status != ResultStatus.Processing && existing.BlobLastModified is { } storedModified && storedModified > blobLastModified)
        {
            return Decided<ClaimResult>.Done(new ClaimResult(ClaimStatus.Superseded, existing));
        }

        if (existing.ClaimETag == etag && existing.ClaimId != claimId && existing.ClaimedAt is { } claimedAt
            && now - claimedAt < claimTimeout)
        {
            return Decided<ClaimResult>.Done(new ClaimResult(ClaimStatus.HeldElsewhere, existing));
        }

        var claim = new TableEntity(existing.PartitionKey, existing.RowKey)
        {
            [nameof(ResultEntity.ClaimETag)] = etag,
            [nameof(ResultEntity.ClaimId)] = claimId,
            [nameof(ResultEntity.ClaimedAt)] = now,
        };
        if (await _results.TryUpdateAsync(claim, existing.ETag, TableUpdateMode.Merge, cancellationToken).ConfigureAwait(false) is not { } claimedETag)
        {
            return Decided<ClaimResult>.Retry; // someone wrote in between: decide again on what is there now
        }

        existing.ETag = claimedETag;
        existing.ClaimETag = etag;
        existing.ClaimId = claimId;
        existing.ClaimedAt = now;
        return Decided<ClaimResult>.Done(new ClaimResult(ClaimStatus.Claimed, existing));
    }

    /// <summary>An attempt's answer: a decision, or none (a conditional write lost a race; try again).</summary>
    private readonly record struct Decided<T>(bool HasValue, T Value)
    {
        public static Decided<T> Retry => default;

        public static Decided<T> Done(T value) => new(true, value);
    }
}
