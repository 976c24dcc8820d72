using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace ResNeSt.Pipeline.Blobs;

/// <summary>Reads exactly the blob version that was checked (If-Match) into a caller's buffer, never past its declared length.</summary>
public static class PinnedDownload
{
    /// <summary>Returns the bytes read; throws <see cref="RequestFailedException"/> 412 when the blob changed, 404 when it is gone.</summary>
    public static async Task<int> ReadAsync(BlobClient blob, string etag, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var options = new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = new ETag(etag) } };
        var response = await blob.DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
        var content = response.Value.Content;
        await using (content.ConfigureAwait(false))
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int read = await content.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            return total;
        }
    }
}
