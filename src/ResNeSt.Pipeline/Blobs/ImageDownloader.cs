using System.Buffers;
using System.Diagnostics;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Imaging;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.Processing;

namespace ResNeSt.Pipeline.Blobs;

/// <summary>
/// Reads an uploaded image the way the pipeline must: the properties first (size, ETag; nothing read yet), then exactly
/// the version that was checked (If-Match) into a pooled buffer, never past its declared length, and not at all when
/// the size alone refuses it (<see cref="PipelineOptions.MaxImageBytes"/>).
/// </summary>
public sealed class ImageDownloader(IOptions<PipelineOptions> options, PipelineTelemetry telemetry)
{
    private readonly long _maxImageBytes = options.Value.MaxImageBytes;

    /// <summary>The blob's current properties, or null when it does not exist (any more).</summary>
    public static async Task<BlobProperties?> TryGetPropertiesAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        try
        {
            return (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Reads version <paramref name="etag"/> of <paramref name="blob"/>, whose properties said <paramref name="length"/> bytes.</summary>
    public async Task<ImageDownload> DownloadAsync(BlobClient blob, string etag, long length, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        if (length == 0)
        {
            return ImageDownload.Refused(new ImageRejectedException(ImageRejectionReason.Empty, "The blob is empty."));
        }

        if (length > _maxImageBytes)
        {
            // Decided from the properties: not one byte of an oversized blob is downloaded.
            return ImageDownload.Refused(new ImageRejectedException(
                ImageRejectionReason.TooLarge, $"The blob has {length} bytes; the limit is {_maxImageBytes}."));
        }

        var started = Stopwatch.GetTimestamp();
        var buffer = ArrayPool<byte>.Shared.Rent((int)length);
        using var stage = telemetry.StartStage(PipelineTelemetry.DownloadActivity, PipelineTelemetry.Stages.Download);
        try
        {
            int received = await ReadAsync(blob, etag, buffer.AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
            stage.Complete();
            stage.SetTag(PipelineTelemetry.SizeTag, received);
            return ImageDownload.Read(buffer, received, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412 or 416)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return ImageDownload.Skipped(ex.Status == 404 ? SkipReasons.Deleted : SkipReasons.Changed);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>Returns the bytes read; throws <see cref="RequestFailedException"/> 412 when the blob changed, 404 when it is gone.</summary>
    private static async Task<int> ReadAsync(BlobClient blob, string etag, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var request = new BlobDownloadOptions { Conditions = new BlobRequestConditions { IfMatch = new ETag(etag) } };
        var response = await blob.DownloadStreamingAsync(request, cancellationToken).ConfigureAwait(false);
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

/// <summary>
/// What reading one blob version gave (<see cref="ImageDownloader"/>): its bytes in a pooled buffer, returned on
/// dispose, or why there are none: the version vanished or changed (<see cref="SkipReason"/>, nothing to record) or its
/// size alone refuses it (<see cref="Rejection"/>, not one byte read).
/// </summary>
public sealed class ImageDownload : IDisposable
{
    private byte[]? _pooled;

    private ImageDownload(byte[]? pooled, int length, double milliseconds, string? skipReason, ImageRejectedException? rejection)
    {
        _pooled = pooled;
        Bytes = pooled is null ? default : pooled.AsMemory(0, length);
        Milliseconds = milliseconds;
        SkipReason = skipReason;
        Rejection = rejection;
    }

    public ReadOnlyMemory<byte> Bytes { get; }

    public double Milliseconds { get; }

    /// <summary>A <see cref="Processing.SkipReasons"/> value: the version was deleted or changed during the read.</summary>
    public string? SkipReason { get; }

    public ImageRejectedException? Rejection { get; }

    internal static ImageDownload Read(byte[] pooled, int length, double milliseconds) => new(pooled, length, milliseconds, null, null);

    internal static ImageDownload Skipped(string reason) => new(null, 0, 0, reason, null);

    internal static ImageDownload Refused(ImageRejectedException rejection) => new(null, 0, 0, null, rejection);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _pooled, null) is { } pooled)
        {
            ArrayPool<byte>.Shared.Return(pooled);
        }
    }
}
