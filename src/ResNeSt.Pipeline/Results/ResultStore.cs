using Azure.Data.Tables;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Results;

/// <summary>
/// Reads of the results: one blob's row, or the label index's rows for one label. Writes go through the claim protocol
/// (<see cref="Claims.ResultClaims"/>), which keeps the label index (<see cref="LabelIndex"/>) in step.
/// </summary>
public sealed class ResultStore(PipelineStorage storage)
{
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
    /// Results whose top-1 is <paramref name="label"/>, newest first: one range scan of one partition. Values reach the
    /// filter only through <see cref="TableClient.CreateQueryFilter(FormattableString)"/>.
    /// </summary>
    public async Task<LabelResultPage> QueryByLabelAsync(
        string label, double minProbability, int top, string? continuationToken, CancellationToken cancellationToken)
    {
        var partitionKey = TableKeys.ForLabel(label);
        var filter = minProbability > 0
            // The SDK writes a double with its round-trip format, which turns 1e-5 into "1E-05": not an OData literal the
            // service compares with, so every small threshold matched nothing. A fixed-point literal is (the value is a
            // validated double from LabelQuery, never text from the caller).
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}") + " and Probability ge "
                + minProbability.ToString("0.0###################", System.Globalization.CultureInfo.InvariantCulture)
            : TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}");
        var tableToken = continuationToken is null ? null : ContinuationTokenCodec.Decode(continuationToken);
        await foreach (var page in _index.QueryAsync<LabelIndexEntity>(filter, top, cancellationToken: cancellationToken)
            .AsPages(tableToken, top).ConfigureAwait(false))
        {
            var items = page.Values.Select(ResultMapping.ToDocument).ToArray();
            var next = string.IsNullOrEmpty(page.ContinuationToken) ? null : ContinuationTokenCodec.Encode(page.ContinuationToken);
            return new LabelResultPage(label, items, next);
        }

        return new LabelResultPage(label, [], null);
    }
}
