using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ResNeSt.Functions.Http;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Functions.Api;

/// <summary><c>GET /api/tags/{blob}</c> or <c>GET /api/tags?blob=</c>: the index tags of a blob of the images container, as the pipeline left them.</summary>
public sealed class TagsApi(PipelineStorage storage, IOptions<PipelineOptions> options)
{
    public const string Name = "GetBlobTags";

    [Function(Name)]
    public async Task<IActionResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "tags/{*blob}")] HttpRequest request,
        string? blob,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (QueryParameters.RejectUnknown(request.Query, "; use blob.", BlobNameParameter.QueryName) is { } unknown)
        {
            return unknown;
        }

        if (BlobNameParameter.TryGet(request, blob, out var name) is { } invalid)
        {
            return invalid;
        }

        // The name becomes a request URL: it must address that blob of the images container and nothing else.
        if (BlobAddress.Check(storage.Images, name) is { } problem)
        {
            return ApiResults.InvalidBlobName(problem);
        }

        try
        {
            var tags = await storage.Images.GetBlobClient(name).GetTagsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var sorted = new SortedDictionary<string, string>(tags.Value.Tags, StringComparer.Ordinal);
            return ApiResults.Json(200, new BlobTagsDocument(options.Value.ImagesContainer, name, sorted), PipelineJsonContext.Default.BlobTagsDocument);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return ApiResults.Problem(404, "No such image", $"'{name}' does not exist in the images container.", "not_found");
        }
    }
}
