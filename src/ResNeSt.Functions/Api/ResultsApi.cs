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

/// <summary><c>GET /api/results/{blob}</c> and <c>GET /api/results?label=…</c>.</summary>
public sealed class ResultsApi(ResultStore results, LabelIndex index, ModelRuntime model, IOptions<PipelineOptions> options)
{
    public const string GetName = "GetResult";
    public const string ListName = "ListResultsByLabel";

    /// <summary>The stored result for a blob of the images container (the route holds the blob name, slashes included).</summary>
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

        if (BlobNameRules.Check(blob) is { } problem)
        {
            return ApiResults.InvalidBlobName(problem);
        }

        var container = options.Value.ImagesContainer;
        var entity = await results.GetAsync(container, blob, cancellationToken).ConfigureAwait(false);
        return entity is null
            ? ApiResults.Problem(404, "No result", $"No classification has been recorded for '{container}/{blob}' (not uploaded, not yet processed, or not an image event).", "not_found")
            : ApiResults.Json(200, ResultMapping.ToDocument(entity), PipelineJsonContext.Default.ResultDocument);
    }

    /// <summary>Results whose top-1 is <c>label</c>, newest first, paged with an opaque continuation token.</summary>
    [Function(ListName)]
    public async Task<IActionResult> ListAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "results")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var q = request.Query;
        foreach (var key in q.Keys)
        {
            if (key is not ("label" or "minProbability" or "top" or "continuationToken" or "code"))
            {
                return ApiResults.Problem(400, "Unknown query parameter", $"'{key}' is not supported; use label, minProbability, top, continuationToken.", "invalid_query");
            }
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

        var page = await index.QueryAsync(query!.Label, query.MinProbability, query.Top, query.ContinuationToken, cancellationToken)
            .ConfigureAwait(false);
        return ApiResults.Json(200, page, PipelineJsonContext.Default.LabelResultPage);
    }
}
