using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Http;

/// <summary>
/// Writes a JSON body with a source-generated serializer and nothing else: no MVC formatters, so the result works
/// (and is testable) on a bare <see cref="DefaultHttpContext"/>.
/// </summary>
public sealed class JsonApiResult<T>(int statusCode, T value, JsonTypeInfo<T> typeInfo, string contentType = "application/json") : IActionResult
{
    public int StatusCode { get; } = statusCode;

    public T Value { get; } = value;

    public string? Location { get; init; }

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        response.StatusCode = StatusCode;
        response.ContentType = contentType + "; charset=utf-8";
        if (Location is not null)
        {
            response.Headers.Location = Location;
        }

        await JsonSerializer.SerializeAsync(response.Body, Value, typeInfo, context.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>
/// An RFC 9457 problem (<c>application/problem+json</c>). Its invocation id is filled in when the response is written,
/// from the item <see cref="ApiProblemMiddleware"/> puts on the request, so every error names the invocation to look
/// up in the logs without each function passing it along.
/// </summary>
public sealed class ProblemResult(ProblemDocument problem) : IActionResult
{
    public ProblemDocument Problem { get; } = problem;

    public int StatusCode => Problem.Status;

    /// <summary>Seconds for a <c>Retry-After</c> header (busy, 503).</summary>
    public int? RetryAfterSeconds { get; init; }

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.HttpContext;
        var problem = Problem.InvocationId is null && http.Items.TryGetValue(ApiProblemMiddleware.InvocationIdItem, out var id) && id is string invocationId
            ? Problem with { InvocationId = invocationId }
            : Problem;
        if (RetryAfterSeconds is { } seconds)
        {
            http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await new JsonApiResult<ProblemDocument>(problem.Status, problem, PipelineJsonContext.Default.ProblemDocument, "application/problem+json")
            .ExecuteResultAsync(context).ConfigureAwait(false);
    }
}

/// <summary>Factory methods for the API's responses.</summary>
public static class ApiResults
{
    public static JsonApiResult<T> Json<T>(int statusCode, T value, JsonTypeInfo<T> typeInfo) => new(statusCode, value, typeInfo);

    /// <summary>
    /// An RFC 9457 problem; <paramref name="code"/> is the stable machine-readable reason. <paramref name="detail"/> is
    /// written by us for the caller: never an exception's message, which may describe storage or runtime internals.
    /// </summary>
    public static ProblemResult Problem(int statusCode, string title, string? detail = null, string? code = null) =>
        new(new ProblemDocument(title, statusCode, detail, code));

    /// <summary>The 400 every route that takes a blob name answers when <c>BlobNameRules.Check</c> finds a problem.</summary>
    public static ProblemResult InvalidBlobName(string problem) =>
        Problem(400, "Invalid blob name", $"The blob name {problem}; it names a blob of the images container.", "invalid_blob_name");
}
