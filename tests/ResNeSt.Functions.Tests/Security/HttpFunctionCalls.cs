using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.TestSupport;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>
/// What the HTTP defence tests share (used with <c>using static</c>): the function classes created from the harness's
/// services as the host creates them, and requests built by hand, with bodies and headers that disagree.
/// </summary>
internal static class HttpFunctionCalls
{
    public static T Function<T>(PipelineHarness harness) where T : class => ActivatorUtilities.CreateInstance<T>(harness.Services);

    public static HttpRequest Request(string method, Stream body, string? contentType, long? contentLength)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Body = body;
        context.Request.ContentType = contentType;
        context.Request.ContentLength = contentLength;
        context.Response.Body = new MemoryStream();
        return context.Request;
    }

    public static HttpRequest Json(string json, string? contentType = "application/json") =>
        Request("POST", new MemoryStream(Encoding.UTF8.GetBytes(json)), contentType, Encoding.UTF8.GetByteCount(json));
}
