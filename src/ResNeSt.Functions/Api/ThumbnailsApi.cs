using System.Buffers;
using System.Globalization;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;
using ResNeSt.Functions.Http;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Functions.Api;

/// <summary>
/// <c>GET /api/thumbnails/{blob}?size=</c> (or <c>?blob=…&amp;size=</c>): a small JPEG re-encoded from a blob of the images container, never the
/// blob's own bytes. The work is bounded: at most <see cref="PipelineOptions.MaxImageBytes"/> are read (a larger blob
/// is refused without being downloaded) and the decode runs under the classifier's pixel budget and time limit.
/// </summary>
public sealed class ThumbnailsApi(PipelineStorage storage, ThumbnailEncoder encoder, IOptions<PipelineOptions> options)
{
    public const string Name = "GetThumbnail";
    public const int DefaultSide = 256;

    [Function(Name)]
    public async Task<IActionResult> GetAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "thumbnails/{*blob}")] HttpRequest request,
        string? blob,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        int side = DefaultSide;
        if (QueryParameters.RejectUnknown(request.Query, "; use size (and blob).", "size", BlobNameParameter.QueryName) is { } unknown)
        {
            return unknown;
        }

        if (BlobNameParameter.TryGet(request, blob, out var name) is { } invalid)
        {
            return invalid;
        }

        // The name becomes a request URL: it must address that blob of the images container and nothing else.
        if (BlobAddress.Check(storage.Images, name) is { } problem)
        {
            return ApiResults.InvalidBlobName(problem);
        }

        if (request.Query.TryGetValue("size", out var sizeValue)
            && (sizeValue.Count != 1 || !int.TryParse(sizeValue[0], NumberStyles.None, CultureInfo.InvariantCulture, out side) || side is < 32 or > ThumbnailEncoder.MaxSide))
        {
            return ApiResults.Problem(400, "Invalid size", $"size is a whole number of pixels from 32 to {ThumbnailEncoder.MaxSide}.", "invalid_query");
        }

        long max = options.Value.MaxImageBytes;
        var client = storage.Images.GetBlobClient(name);
        BlobDownloadStreamingResult download;
        try
        {
            // One byte past the limit is enough to know the blob is too large; the rest is never read.
            download = await client.DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(0, max + 1) }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return ApiResults.Problem(404, "No such image", $"'{name}' does not exist in the images container.", "not_found");
        }
        catch (RequestFailedException ex) when (ex.Status == 416)
        {
            // A range request on an empty blob.
            return ApiResults.Problem(422, "Image rejected", "The image is empty (0 bytes).", ImageRejectedException.ReasonCode(ImageRejectionReason.Empty));
        }

        byte[] jpeg;
        string etag;
        using (download)
        {
            etag = download.Details.ETag.ToString();
            long total = download.Details.ContentRange is { } range && ParseTotal(range) is { } t ? t : download.Details.ContentLength;
            if (total > max)
            {
                return TooLarge(max);
            }

            if (request.Headers.IfNoneMatch.Count == 1 && request.Headers.IfNoneMatch[0] == ThumbnailETag(etag, side))
            {
                return new StatusCodeResult(304);
            }

            var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(1, total));
            try
            {
                int length = 0;
                int read;
                while (length < buffer.Length && (read = await download.Content.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += read;
                }

                if (length > max)
                {
                    return TooLarge(max);
                }

                jpeg = encoder.Encode(buffer.AsSpan(0, length), side, cancellationToken);
            }
            catch (ImageRejectedException rejected)
            {
                return ApiResults.Problem(422, "Image rejected", rejected.Message, rejected.Code);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        return new ThumbnailResult(jpeg, ThumbnailETag(etag, side));
    }

    // The thumbnail changes when the blob does (its ETag) or the size asked for does.
    private static string ThumbnailETag(string blobETag, int side) =>
        $"\"{blobETag.Trim('"')}-{side.ToString(CultureInfo.InvariantCulture)}\"";

    // "bytes 0-1023/4096" → 4096.
    private static long? ParseTotal(string contentRange)
    {
        int slash = contentRange.LastIndexOf('/');
        return slash >= 0 && long.TryParse(contentRange.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var total) ? total : null;
    }

    private static ProblemResult TooLarge(long max) =>
        ApiResults.Problem(413, "Image too large", $"The blob exceeds {max} bytes; no thumbnail is made of it.", ImageRejectedException.ReasonCode(ImageRejectionReason.TooLarge));

    /// <summary>The JPEG, cacheable by the browser only (the response needed the function key), revalidated by ETag.</summary>
    private sealed class ThumbnailResult(byte[] jpeg, string etag) : IActionResult
    {
        public async Task ExecuteResultAsync(ActionContext context)
        {
            var response = context.HttpContext.Response;
            response.StatusCode = 200;
            response.ContentType = "image/jpeg";
            response.ContentLength = jpeg.Length;
            response.Headers.CacheControl = "private, max-age=300";
            response.Headers.ETag = etag;
            response.Headers.XContentTypeOptions = "nosniff";
            await response.Body.WriteAsync(jpeg, context.HttpContext.RequestAborted).ConfigureAwait(false);
        }
    }
}
