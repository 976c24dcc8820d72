using System.Buffers;
using System.Security.Cryptography;

namespace ResNeSt.Models.Checkpoints;

/// <summary>
/// Fetches weight files into the cache folder: streamed to a temporary file while hashed, checked against the
/// published SHA-256 prefix (and the pinned full hash, when one is set), then moved into place in one rename, so the
/// cache never holds a partial or wrong file. The full hash of a verified download is recorded next to it
/// (<c>FILE.sha256</c>) and a cached file is reused only when its full hash is still that one.
/// </summary>
public sealed class CheckpointDownloader : IDisposable
{
    private const int ChunkBytes = 1 << 20;

    private readonly CheckpointDownloadOptions _options;
    private readonly HttpClient _http;

    public CheckpointDownloader(CheckpointDownloadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = options.ConnectTimeout, AllowAutoRedirect = true })
        {
            // Large files on slow links: the caller's token bounds the whole transfer, not a fixed timeout.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("ResNeSt.Functions-checkpoint-downloader");
    }

    /// <summary>Returns the path of the cached, hash-checked file, downloading it first when needed.</summary>
    /// <param name="file">Which file, and the hash prefix it must have.</param>
    /// <param name="progress">Bytes received so far and the total when the server says it.</param>
    /// <param name="cancellationToken">Stops the transfer; nothing is left in the cache.</param>
    public async Task<string> GetAsync(
        WeightsFile file, IProgress<(long read, long? total)>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        string target = Path.Combine(_options.CacheDirectory, file.FileName);
        try
        {
            Directory.CreateDirectory(_options.CacheDirectory);
            if (File.Exists(target))
            {
                if (await IsVerifiedAsync(target, file, cancellationToken))
                {
                    long length = new FileInfo(target).Length;
                    progress?.Report((length, length));
                    return target;
                }

                // A corrupt or replaced cache entry, or one never verified in full: fetch it again.
                File.Delete(target);
                File.Delete(RecordPath(target));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"The checkpoint cache folder '{_options.CacheDirectory}' cannot be used: {ex.Message}", ex);
        }

        var url = new Uri(_options.BaseUrl, file.FileName);
        string temporary = Path.Combine(_options.CacheDirectory, $".{file.FileName}.{Guid.NewGuid():N}.partial");
        try
        {
            string sha256 = await DownloadAsync(url, temporary, progress, cancellationToken);
            if (!sha256.StartsWith(file.Sha256Prefix, StringComparison.OrdinalIgnoreCase))
            {
                throw new CheckpointException(
                    $"The file downloaded from {url} has SHA-256 {sha256}, which does not start with the published {file.Sha256Prefix}: " +
                    "it is corrupt or not the official file, and was discarded.");
            }

            if (_options.Sha256 is { } pinned && sha256 != pinned)
            {
                throw new CheckpointException(
                    $"The file downloaded from {url} has SHA-256 {sha256}, not the pinned {pinned}: it was discarded.");
            }

            // The record first: a file without its record is fetched again, never trusted on its prefix.
            await File.WriteAllTextAsync(RecordPath(target), sha256 + "\n", cancellationToken);
            File.Move(temporary, target, overwrite: true);
            return target;
        }
        catch (HttpRequestException ex)
        {
            throw Failure(file, url, ex.HttpRequestError == HttpRequestError.NameResolutionError
                ? $"the host name could not be resolved ({ex.Message})"
                : ex.InnerException is { } inner && !ex.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{ex.Message} ({inner.Message})" : ex.Message, ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw Failure(
                file,
                url,
                $"timed out (no connection within {_options.ConnectTimeout.TotalSeconds:0.#} s, or no data for {_options.ReadTimeout.TotalSeconds:0.#} s)",
                ex);
        }
        catch (IOException ex)
        {
            throw Failure(file, url, ex.Message, ex);
        }
        finally
        {
            TryDelete(temporary);
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<string> DownloadAsync(Uri url, string temporary, IProgress<(long read, long? total)>? progress, CancellationToken cancellationToken)
    {
        // Cancelled by the caller, or when the server goes quiet for longer than the read timeout.
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(_options.ReadTimeout);
        using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, stall.Token);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"the server answered HTTP {(int)response.StatusCode} ({response.ReasonPhrase ?? response.StatusCode.ToString()}).",
                null,
                response.StatusCode);
        }

        long? total = response.Content.Headers.ContentLength;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            await using var source = await response.Content.ReadAsStreamAsync(stall.Token);
            await using var sink = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            long read = 0;
            long reported = 0;
            progress?.Report((0, total));
            int n;
            while ((n = await ReadChunkAsync(source, buffer, stall)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                await sink.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                read += n;
                if (read - reported >= ChunkBytes)
                {
                    progress?.Report((read, total));
                    reported = read;
                }
            }

            if (total is long expected && read != expected)
            {
                throw new IOException($"the connection closed after {read} of {expected} bytes.");
            }

            progress?.Report((read, total));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private async Task<int> ReadChunkAsync(Stream source, byte[] buffer, CancellationTokenSource stall)
    {
        stall.CancelAfter(_options.ReadTimeout);
        return await source.ReadAsync(buffer.AsMemory(0, ChunkBytes), stall.Token);
    }

    /// <summary>Where the full hash of a verified download is recorded.</summary>
    private static string RecordPath(string target) => target + ".sha256";

    /// <summary>
    /// A cached file is reused when its full SHA-256 is the one recorded when it was downloaded and verified, starts
    /// with the published prefix, and equals the pinned hash when one is set.
    /// </summary>
    private async Task<bool> IsVerifiedAsync(string path, WeightsFile file, CancellationToken cancellationToken)
    {
        string record = RecordPath(path);
        if (!File.Exists(record))
        {
            return false;
        }

        string recorded = (await File.ReadAllTextAsync(record, cancellationToken)).Trim();
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        string sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
        return sha256 == recorded
            && sha256.StartsWith(file.Sha256Prefix, StringComparison.OrdinalIgnoreCase)
            && (_options.Sha256 is null || sha256 == _options.Sha256);
    }

    private static CheckpointException Failure(WeightsFile file, Uri url, string reason, Exception inner) =>
        new($"Downloading {file.FileName} from {url} failed: {reason.TrimEnd('.')}. " +
            $"Without internet access, fetch the file on another machine and pass it with --checkpoint FILE " +
            $"(its SHA-256 starts with {file.Sha256Prefix}), or point {OfficialWeights.BaseUrlVariable} at a mirror.",
            inner);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover '.partial' file is ignored by the cache and overwritten never.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
