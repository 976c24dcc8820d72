using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Functions.Api;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.TestSupport;

namespace ResNeSt.Functions.Tests;

/// <summary>
/// What the function tests share (used with <c>using static</c>): the function classes created from the harness's
/// services as the host creates them, and requests built by hand, with bodies and headers that disagree.
/// </summary>
internal static class HttpFunctionCalls
{
    public static T Function<T>(PipelineHarness harness) where T : class => ActivatorUtilities.CreateInstance<T>(harness.Services);

    /// <summary>The thumbnail function with the encoder the app registers (the pipeline harness does not).</summary>
    public static ThumbnailsApi Thumbnails(PipelineHarness harness)
    {
        var options = harness.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ResNeSt.Pipeline.Configuration.PipelineOptions>>().Value;
        var encoder = new ResNeSt.Inference.Imaging.ThumbnailEncoder(EngineClassifier.UploadLimits(options.MaxImageBytes, options.DecodeTimeout));
        return ActivatorUtilities.CreateInstance<ThumbnailsApi>(harness.Services, encoder);
    }

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
