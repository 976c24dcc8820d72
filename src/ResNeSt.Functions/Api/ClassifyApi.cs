using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ResNeSt.Functions.Http;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Api;

/// <summary><c>POST /api/classify</c>: classifies the request body synchronously; nothing is stored.</summary>
public sealed class ClassifyApi(ModelRuntime model, IOptions<PipelineOptions> options)
{
    public const string Name = "ClassifyImage";

    [Function(Name)]
    public async Task<IActionResult> PostAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "classify")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);

        // The invocation's token ends with the host; the request's ends when the client goes away. Either stops the
        // body read, the wait for the batcher and the decode.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, request.HttpContext.RequestAborted);
        cancellationToken = linked.Token;
        long max = options.Value.MaxImageBytes;
        if (request.ContentLength > max)
        {
            return TooLarge(max);
        }

        if (!ContentTypes.IsImage(request.ContentType))
        {
            return ApiResults.Problem(415, "Not an image", "Send the image bytes with Content-Type image/* or application/octet-stream.", "unsupported_media_type");
        }

        using var body = await BoundedBody.ReadAsync(request, max, cancellationToken).ConfigureAwait(false);
        if (body.TooLarge)
        {
            return TooLarge(max);
        }

        try
        {
            var classifier = await model.GetClassifierAsync(cancellationToken).ConfigureAwait(false);
            var classification = await classifier.ClassifyAsync(body.Memory, cancellationToken).ConfigureAwait(false);
            // Nothing is stored, but the answer is mapped exactly as a stored result is.
            var result = ResultMapping.Succeeded(new ResultEntity { ContentLength = body.Length }, classification, model.Model?.Sha256, downloadMs: null);
            var document = ResultMapping.ToClassificationDocument(result);
            return ApiResults.Json(200, document, PipelineJsonContext.Default.ClassificationDocument);
        }
        catch (ImageRejectedException rejected)
        {
            // The rejection's message describes the caller's own image (format, size, dimensions), nothing of ours.
            return ApiResults.Problem(StatusFor(rejected.Reason), "Image rejected", rejected.Message, rejected.Code);
        }
    }

    /// <summary>HTTP status for a rejected image: 413 too big, 415 not an allowed format, 400 empty, 422 undecodable.</summary>
    public static int StatusFor(ImageRejectionReason reason) => reason switch
    {
        ImageRejectionReason.TooLarge => 413,
        ImageRejectionReason.UnsupportedFormat => 415,
        ImageRejectionReason.Empty => 400,
        _ => 422,
    };

    private static ProblemResult TooLarge(long max) =>
        ApiResults.Problem(413, "Image too large", $"The body exceeds {max} bytes.", ImageRejectedException.ReasonCode(ImageRejectionReason.TooLarge));
}
