using System.Security.Cryptography;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.Storage;

namespace ResNeSt.Pipeline.ModelLoading;

/// <summary>A model file on local disk whose SHA-256 has been computed (and checked, when one was expected).</summary>
public sealed record LocalModel(string Path, string Sha256, long Length, string Source);

/// <summary>
/// Finds the ONNX model: a local file (baked into the container image) or a blob in the <c>models</c> container,
/// downloaded once into a local cache keyed by its SHA-256 and verified before use.
/// </summary>
public sealed class ModelProvider(IOptions<ModelOptions> options, PipelineStorage storage, ILogger<ModelProvider> logger)
{
    private readonly ModelOptions _options = options.Value;

    public async Task<LocalModel> ResolveAsync(CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(_options.Path))
        {
            var path = System.IO.Path.GetFullPath(_options.Path);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"Model file '{path}' (Model:Path) does not exist.", path);
            }

            var (sha, length) = await HashFileAsync(path, cancellationToken).ConfigureAwait(false);
            Verify(sha, path);
            PipelineLog.ModelResolved(logger, path, sha, "file");
            return new LocalModel(path, sha, length, "file");
        }

        var expected = _options.Sha256?.ToLowerInvariant();
        var cacheDir = _options.CacheDirectory ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "resnest-models");
        Directory.CreateDirectory(cacheDir);
        if (expected is { Length: > 0 })
        {
            // A pinned model is fetched once: a cache entry with the expected hash is that model.
            var pinned = System.IO.Path.Combine(cacheDir, expected + ".onnx");
            if (File.Exists(pinned))
            {
                var (sha, length) = await HashFileAsync(pinned, cancellationToken).ConfigureAwait(false);
                if (sha == expected)
                {
                    PipelineLog.ModelResolved(logger, pinned, sha, "cache");
                    return new LocalModel(pinned, sha, length, "cache");
                }

                File.Delete(pinned); // a torn or tampered cache entry: fetch again
            }
        }

        var blob = storage.Blobs.GetBlobContainerClient(_options.Container).GetBlobClient(_options.BlobName);
        // Unpinned, the blob's current content is the model: download it (at load and reload only) and name the cache
        // entry by the hash it turns out to have.
        var partial = System.IO.Path.Combine(cacheDir, Guid.NewGuid().ToString("N") + ".partial");
        try
        {
            long total;
            string actual;
            var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var source = download.Value.Content;
            await using (source.ConfigureAwait(false))
            await using (var target = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 20];
                total = 0;
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    total += read;
                }

                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            Verify(actual, $"{_options.Container}/{_options.BlobName}");
            var cached = System.IO.Path.Combine(cacheDir, actual + ".onnx");
            File.Move(partial, cached, overwrite: true);
            PipelineLog.ModelResolved(logger, cached, actual, "blob");
            return new LocalModel(cached, actual, total, "blob");
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new FileNotFoundException($"Model blob '{_options.Container}/{_options.BlobName}' (Model:BlobName) does not exist.", ex);
        }
        finally
        {
            if (File.Exists(partial))
            {
                File.Delete(partial);
            }
        }
    }

    public static async Task<(string Sha256, long Length)> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
            return (Convert.ToHexStringLower(hash), stream.Length);
        }
    }

    private void Verify(string actual, string what)
    {
        if (_options.Sha256 is { Length: > 0 } expected && !string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new ModelIntegrityException($"Model '{what}' has SHA-256 {actual}, expected {expected.ToLowerInvariant()} (Model:Sha256).");
        }
    }
}
