using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ResNeSt.Functions.Http;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Api;

/// <summary><c>POST /api/batches</c> starts batch tagging of a prefix of the images container; <c>GET /api/batches/{id}</c> reports progress.</summary>
public sealed class BatchesApi(BatchJobService jobs)
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
            return ApiResults.Problem(413, "Body too large", $"A batch request is at most {MaxBodyBytes} bytes.", "too_large");
        }

        BatchRequest? body;
        try
        {
            using var limited = new MemoryStream();
            var chunk = new byte[1024];
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (limited.Length + read > MaxBodyBytes)
                {
                    return ApiResults.Problem(413, "Body too large", $"A batch request is at most {MaxBodyBytes} bytes.", "too_large");
                }

                limited.Write(chunk, 0, read);
            }

            body = limited.Length == 0 ? new BatchRequest("") : JsonSerializer.Deserialize(limited.ToArray(), PipelineJsonContext.Default.BatchRequest);
        }
        catch (JsonException ex)
        {
            return ApiResults.Problem(400, "Invalid body", $"Expected {{\"prefix\": \"...\"}}: {ex.Message}", "invalid_body");
        }

        var prefix = body?.Prefix ?? "";
        try
        {
            BatchJobService.ValidatePrefix(prefix);
        }
        catch (ArgumentException ex)
        {
            return ApiResults.Problem(400, "Invalid prefix", ex.Message, "invalid_prefix");
        }

        var job = await jobs.StartAsync(prefix, cancellationToken).ConfigureAwait(false);
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
        if (!BatchJobService.IsJobId(id))
        {
            return ApiResults.Problem(400, "Invalid job id", "A job id is 32 lowercase hexadecimal digits.", "invalid_job_id");
        }

        var job = await jobs.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return job is null
            ? ApiResults.Problem(404, "No such job", $"Batch job {id} does not exist.", "not_found")
            : ApiResults.Json(200, job, PipelineJsonContext.Default.BatchJobDocument);
    }
}
