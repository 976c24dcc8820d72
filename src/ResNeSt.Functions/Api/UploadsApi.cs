using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ResNeSt.Functions.Http;
using ResNeSt.Functions.Uploads;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Functions.Api;

/// <summary>
/// <c>POST /api/uploads</c>: stores the request body (one image, raw bytes) in the images container under a generated
/// name, after the checks the pipeline would make on its header (size, format by content, framing, pixel budget), so a
/// file that could never be classified is refused here with its reason instead of becoming a failed result. The
/// stored blob then flows through the same BlobCreated event as any other upload.
/// </summary>
public sealed class UploadsApi(PipelineStorage storage, IOptions<PipelineOptions> options, TimeProvider clock)
{
    public const string Name = "UploadImage";

    /// <summary>Optional request header with the file's own name (percent-encoded UTF-8), kept only as a hint in the blob name.</summary>
    public const string FileNameHeader = "x-resnest-file-name";

    private static readonly Dictionary<string, string> s_contentTypes = new(StringComparer.Ordinal)
    {
        ["jpeg"] = "image/jpeg",
        ["png"] = "image/png",
        ["gif"] = "image/gif",
        ["bmp"] = "image/bmp",
        ["webp"] = "image/webp",
    };

    [Function(Name)]
    public async Task<IActionResult> PostAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "uploads")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        long max = options.Value.MaxImageBytes;
        if (request.ContentLength > max)
        {
            return TooLarge(max);
        }

        // The declared type proves nothing (the content decides below), but a form or a JSON body is a client error.
        if (!ContentTypes.IsImage(request.ContentType))
        {
            return ApiResults.Problem(415, "Not an image", "Send one image's bytes as the body with Content-Type image/* or application/octet-stream.", "unsupported_media_type");
        }

        using var body = await BoundedBody.ReadAsync(request, max, cancellationToken).ConfigureAwait(false);
        if (body.TooLarge)
        {
            return TooLarge(max);
        }

        ImageInfo info;
        try
        {
            info = ImagePreprocessor.Identify(body.Memory.Span, EngineClassifier.UploadLimits(max, options.Value.DecodeTimeout));
        }
        catch (ImageRejectedException rejected)
        {
            // The rejection's message describes the caller's own file, nothing of ours.
            return ApiResults.Problem(ClassifyApi.StatusFor(rejected.Reason), "Image rejected", rejected.Message, rejected.Code);
        }

        var name = UploadNames.Create(OriginalName(request), info.Format, clock.GetUtcNow(), Guid.NewGuid());
        var blob = storage.Images.GetBlobClient(name);
        try
        {
            await blob.UploadAsync(
                new BinaryData(body.Memory),
                new BlobUploadOptions
                {
                    HttpHeaders = new BlobHttpHeaders { ContentType = s_contentTypes[info.Format] },
                    Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 && ex.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            return ApiResults.Problem(503, "Storage not ready", "The images container does not exist yet; retry shortly.", "storage_not_ready");
        }

        var document = new UploadDocument(options.Value.ImagesContainer, name, info.Format, info.Width, info.Height, body.Length);
        return new JsonApiResult<UploadDocument>(201, document, PipelineJsonContext.Default.UploadDocument)
        {
            Location = "/api/results/" + string.Join('/', name.Split('/').Select(Uri.EscapeDataString)),
        };
    }

    private static string? OriginalName(HttpRequest request)
    {
        var header = request.Headers[FileNameHeader];
        if (header.Count != 1 || string.IsNullOrEmpty(header[0]) || header[0]!.Length > 1024)
        {
            return null;
        }

        try
        {
            return Uri.UnescapeDataString(header[0]!);
        }
        catch (UriFormatException)
        {
            return null; // a hint only: an undecodable one is dropped, the upload is not refused for it
        }
    }

    private static ProblemResult TooLarge(long max) =>
        ApiResults.Problem(413, "Image too large", $"The body exceeds {max} bytes.", ImageRejectedException.ReasonCode(ImageRejectionReason.TooLarge));
}
