using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;

namespace ResNeSt.Functions.Tests;

/// <summary>Requests on a plain <see cref="DefaultHttpContext"/> and responses executed into a buffer, as the host would.</summary>
internal static class HttpTest
{
    public static HttpRequest Get(string query = "")
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.QueryString = new QueryString(query);
        return context.Request;
    }

    public static HttpRequest Post(byte[] body, string? contentType, bool declareLength = true)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentType = contentType;
        if (declareLength)
        {
            context.Request.ContentLength = body.Length;
        }

        return context.Request;
    }

    public sealed record Response(int Status, string ContentType, string Body, string? Location)
    {
        public T Json<T>(JsonTypeInfo<T> typeInfo) => JsonSerializer.Deserialize(Body, typeInfo)!;

        public JsonElement Root => JsonDocument.Parse(Body).RootElement;
    }

    public static async Task<Response> ExecuteAsync(this IActionResult result)
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        return new Response(
            context.Response.StatusCode,
            context.Response.ContentType ?? "",
            System.Text.Encoding.UTF8.GetString(body.ToArray()),
            context.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : null);
    }
}
