using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ResNeSt.Functions.Http;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Api;

/// <summary><c>POST /api/batches</c> starts batch tagging of a prefix of the images container; <c>GET /api/batches/{id}</c> reports progress.</summary>
public sealed class BatchesApi(BatchJobService batches, BatchJobStore jobs)
{
    public const string StartName = "StartBatch";
    public const string GetName = "GetBatch";
    private const int MaxBodyBytes = 8 * 1024;

    [Function(StartName)]
    public async Task<IActionResult> StartAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "batches")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > MaxBodyBytes)
        {
            return TooLarge();
        }

        // An empty body (no Content-Type needed) starts a job over the whole images container.
        if (request.ContentLength != 0 && !ContentTypes.IsJson(request.ContentType))
        {
            return ApiResults.Problem(415, "Not JSON", "Send {\"prefix\": \"...\"} with Content-Type application/json.", "unsupported_media_type");
        }

        BatchRequest? body;
        using (var raw = await BoundedBody.ReadAsync(request, MaxBodyBytes, cancellationToken).ConfigureAwait(false))
        {
            if (raw.TooLarge)
            {
                return TooLarge();
            }

            try
            {
                body = raw.Length == 0 ? new BatchRequest("") : JsonSerializer.Deserialize(raw.Memory.Span, PipelineJsonContext.Default.BatchRequest);
            }
            catch (JsonException ex)
            {
                // The position is ours to give; the parser's message is not repeated.
                return ApiResults.Problem(400, "Invalid body", $"Expected {{\"prefix\": \"...\"}} and nothing else (error at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).", "invalid_body");
            }
        }

        var prefix = body?.Prefix ?? "";
        if (BlobNameRules.Check(prefix, isPrefix: true) is { } problem)
        {
            return ApiResults.Problem(400, "Invalid prefix", $"The prefix {problem}; it is a blob-name prefix inside the images container.", "invalid_prefix");
        }

        BatchJobDocument job;
        try
        {
            job = await batches.StartAsync(prefix, cancellationToken).ConfigureAwait(false);
        }
        catch (BatchJobLimitException limit)
        {
            return ApiResults.Problem(429, "Too many batch jobs", limit.Message, "too_many_jobs");
        }

        return new JsonApiResult<BatchJobDocument>(202, job, PipelineJsonContext.Default.BatchJobDocument)
        {
            Location = $"/api/batches/{job.Id}",
        };
    }

    [Function(GetName)]
    public async Task<IActionResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "batches/{id}")] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        if (!BatchJobStore.IsJobId(id))
        {
            return ApiResults.Problem(400, "Invalid job id", "A job id is 32 lowercase hexadecimal digits.", "invalid_job_id");
        }

        var job = await jobs.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return job is null
            ? ApiResults.Problem(404, "No such job", $"Batch job {id} does not exist.", "not_found")
            : ApiResults.Json(200, job, PipelineJsonContext.Default.BatchJobDocument);
    }

    private static ProblemResult TooLarge() =>
        ApiResults.Problem(413, "Body too large", $"A batch request is at most {MaxBodyBytes} bytes.", "too_large");
}
