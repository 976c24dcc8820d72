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

/// <summary>Factory methods for the API's responses.</summary>
public static class ApiResults
{
    public static JsonApiResult<T> Json<T>(int statusCode, T value, JsonTypeInfo<T> typeInfo) => new(statusCode, value, typeInfo);

    /// <summary>An RFC 9457 problem; <paramref name="code"/> is the stable machine-readable reason.</summary>
    public static JsonApiResult<ProblemDocument> Problem(int statusCode, string title, string? detail = null, string? code = null) =>
        new(statusCode, new ProblemDocument(title, statusCode, detail, code), PipelineJsonContext.Default.ProblemDocument, "application/problem+json");
}
