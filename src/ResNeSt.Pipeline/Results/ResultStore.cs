using Azure.Data.Tables;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.Results;

/// <summary>
/// Reads of the result table. Writes go through the claim protocol (<see cref="Claims.ResultClaims"/>), which keeps
/// the label index (<see cref="LabelIndex"/>) in step.
/// </summary>
public sealed class ResultStore(PipelineStorage storage)
{
    private readonly TableClient _results = storage.Results;

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
}
