using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ResNeSt.Functions.Http;
using ResNeSt.Models.Metadata;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Api;

/// <summary><c>GET /api/results/{blob}</c>, <c>GET /api/results?blob=…</c> and <c>GET /api/results?label=…</c>.</summary>
public sealed class ResultsApi(ResultStore results, ModelRuntime model, IOptions<PipelineOptions> options)
{
    public const string GetName = "GetResult";
    public const string ListName = "ListResultsByLabel";

    /// <summary>
    /// The stored result for a blob of the images container: <c>GET /api/results/{blob}</c> (slashes included) or
    /// <c>GET /api/results?blob=</c> (any name, see <see cref="BlobNameParameter"/>).
    /// </summary>
    [Function(GetName)]
    public async Task<IActionResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "results/{*blob}")] HttpRequest request,
        string? blob,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(blob))
        {
            // A catch-all may also match the bare collection route.
            return await ListAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return BlobNameParameter.TryGet(request, blob, out var name) is { } problem
            ? problem
            : await LookUpAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Results whose top-1 is <c>label</c>, newest first, paged with an opaque continuation token; or, with <c>blob=</c>, one blob's result.</summary>
    [Function(ListName)]
    public async Task<IActionResult> ListAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "results")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var q = request.Query;
        if (q.ContainsKey(BlobNameParameter.QueryName))
        {
            if (QueryParameters.RejectUnknown(q, " with blob.", BlobNameParameter.QueryName) is { } unknownWithBlob)
            {
                return unknownWithBlob;
            }

            return BlobNameParameter.TryGet(request, null, out var name) is { } problem
                ? problem
                : await LookUpAsync(name, cancellationToken).ConfigureAwait(false);
        }

        if (QueryParameters.RejectUnknown(q, "; use label, minProbability, top, continuationToken (or blob alone).", "label", "minProbability", "top", "continuationToken") is { } unknown)
        {
            return unknown;
        }

        if (q.Any(p => p.Value.Count > 1))
        {
            return ApiResults.Problem(400, "Repeated query parameter", "Each query parameter may appear once.", "invalid_query");
        }

        var classNames = model.Classifier?.Model.ClassNames ?? ModelCard.ImageNetClassNames;
        if (!LabelQuery.TryParse(classNames, q["label"], q["minProbability"], q["top"], q.ContainsKey("continuationToken") ? q["continuationToken"].ToString() : null, out var query, out var error))
        {
            return ApiResults.Problem(400, "Invalid query", error, "invalid_query");
        }

        var page = await results.QueryByLabelAsync(query!.Label, query.MinProbability, query.Top, query.ContinuationToken, cancellationToken)
            .ConfigureAwait(false);
        return ApiResults.Json(200, page, PipelineJsonContext.Default.LabelResultPage);
    }

    // A table lookup: the name becomes a key (escaped by TableKeys), never a path or a URL, so any stored name is fine.
    private async Task<IActionResult> LookUpAsync(string blob, CancellationToken cancellationToken)
    {
        if (BlobNameRules.CheckStored(blob) is { } problem)
        {
            return ApiResults.InvalidBlobName(problem);
        }

        var container = options.Value.ImagesContainer;
        var entity = await results.GetAsync(container, blob, cancellationToken).ConfigureAwait(false);
        return entity is null
            ? ApiResults.Problem(404, "No result", $"No classification has been recorded for '{container}/{blob}' (not uploaded, not yet processed, or not an image event).", "not_found")
            : ApiResults.Json(200, ResultMapping.ToDocument(entity), PipelineJsonContext.Default.ResultDocument);
    }
}
