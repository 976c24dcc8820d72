using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ResNeSt.Functions.Http;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Models;
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
        long max = options.Value.MaxImageBytes;
        if (request.ContentLength > max)
        {
            return TooLarge(max);
        }

        if (request.ContentType is { Length: > 0 } contentType
            && !contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase)
            && !contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            return ApiResults.Problem(415, "Not an image", $"Content-Type '{contentType}' is not an image; send the image bytes as image/* or application/octet-stream.", "unsupported_format");
        }

        // Read at most max + 1 bytes: the body is never buffered past the limit, even without a Content-Length.
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1, request.ContentLength + 1 ?? 64 * 1024));
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max)
                    {
                        return TooLarge(max);
                    }

                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1, (long)buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read = await request.Body.ReadAsync(buffer.AsMemory(length, (int)Math.Min(buffer.Length - length, max + 1 - length)), cancellationToken)
                    .ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > max)
                {
                    return TooLarge(max);
                }
            }

            var classifier = await model.GetClassifierAsync(cancellationToken).ConfigureAwait(false);
            var classification = await classifier.ClassifyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            var predictions = classification.Predictions.Select(p => new PredictionDocument(p.Index, p.Label, p.Probability)).ToArray();
            var document = new ClassificationDocument(
                predictions[0],
                predictions,
                new ModelDocument(classification.ModelVariant, model.Model?.Sha256 ?? classification.ModelSha256, classification.Recipe.ToString().ToLowerInvariant(), classification.CropSize, classification.ExecutionProvider),
                new ImageDocument(classification.Image.Format, classification.Image.Width, classification.Image.Height, length),
                new TimingsDocument(null, classification.Timings.DecodeAndPreprocessMs, classification.Timings.QueueWaitMs, classification.Timings.InferenceMs, classification.Timings.BatchSize));
            return ApiResults.Json(200, document, PipelineJsonContext.Default.ClassificationDocument);
        }
        catch (ImageRejectedException rejected)
        {
            return ApiResults.Problem(StatusFor(rejected.Reason), "Image rejected", rejected.Message, rejected.Code);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
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

    private static JsonApiResult<ProblemDocument> TooLarge(long max) =>
        ApiResults.Problem(413, "Image too large", $"The body exceeds {max} bytes.", ImageRejectedException.ReasonCode(ImageRejectionReason.TooLarge));
}
