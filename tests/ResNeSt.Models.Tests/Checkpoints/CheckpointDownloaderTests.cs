using System.Security.Cryptography;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Checkpoints;

namespace ResNeSt.Models.Tests.Checkpoints;

public sealed class CheckpointDownloaderTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("resnest-cache-").FullName;
    private readonly byte[] _checkpoint = File.ReadAllBytes(Fixtures.PathOf(Fixtures.Reduced.LegacyCheckpoint));

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    /// <summary>The fixture published the way the official weights are: the hash prefix in the file name.</summary>
    private WeightsFile Published(out Dictionary<string, byte[]> files)
    {
        string prefix = Convert.ToHexStringLower(SHA256.HashData(_checkpoint))[..8];
        var file = new WeightsFile(Fixtures.ReducedVariant.Name, $"reduced-{prefix}.pth", prefix);
        files = new() { [file.FileName] = _checkpoint };
        return file;
    }

    private CheckpointDownloader Downloader(Uri baseUrl) =>
        new(new CheckpointDownloadOptions { CacheDirectory = _cache, BaseUrl = baseUrl, ConnectTimeout = TimeSpan.FromSeconds(2) });

    [Fact]
    public async Task A_file_with_the_right_hash_is_cached_and_converts()
    {
        var file = Published(out var files);
        await using var server = new LoopbackServer(files);
        using var downloader = Downloader(server.BaseUrl);
        var reports = new List<(long Read, long? Total)>();

        string path = await downloader.GetAsync(file, new SynchronousProgress(reports.Add));

        Assert.Equal(Path.Combine(_cache, file.FileName), path);
        Assert.Equal([file.FileName, file.FileName + ".sha256"], Directory.GetFiles(_cache).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(_checkpoint)), File.ReadAllText(Path.Combine(_cache, file.FileName + ".sha256")).Trim());
        Assert.Equal((_checkpoint.Length, (long?)_checkpoint.Length), reports[^1]);
        var checkpoint = await TorchCheckpoint.LoadAsync(path, Fixtures.ReducedVariant);
        Assert.Equal(Fixtures.Reduced.LegacySha256, checkpoint.Weights.SourceSha256);
        Assert.Equal(StateDictSpec.For(Fixtures.ReducedVariant).Entries.Count, checkpoint.Weights.Tensors.Count);
    }

    [Fact]
    public async Task A_cached_file_is_reused_without_the_network_and_a_corrupt_one_is_fetched_again()
    {
        var file = Published(out var files);
        await using (var server = new LoopbackServer(files))
        {
            using var downloader = Downloader(server.BaseUrl);
            await downloader.GetAsync(file);

            // Corrupt the cached copy: the next call must notice and fetch it again.
            await File.WriteAllBytesAsync(Path.Combine(_cache, file.FileName), [1, 2, 3]);
            await downloader.GetAsync(file);
            Assert.Equal(2, server.Requests);
        }

        // The server is gone: a good cached file needs no network at all.
        using var offline = Downloader(new Uri($"http://127.0.0.1:{LoopbackServer.FreePort()}/"));
        string path = await offline.GetAsync(file);
        Assert.Equal(_checkpoint, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task A_file_with_the_wrong_hash_is_refused_and_nothing_stays_in_the_cache()
    {
        var file = Published(out var files) with { Sha256Prefix = "00000000" };
        await using var server = new LoopbackServer(files);
        using var downloader = Downloader(server.BaseUrl);

        var error = await Assert.ThrowsAsync<CheckpointException>(() => downloader.GetAsync(file));

        Assert.Contains("which does not start with the published 00000000", error.Message, StringComparison.Ordinal);
        Assert.Contains("was discarded", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_cache));
    }

    [Fact]
    public async Task A_missing_file_reports_the_HTTP_status_and_how_to_work_offline()
    {
        var file = Published(out _);
        await using var server = new LoopbackServer([]);
        using var downloader = Downloader(server.BaseUrl);

        var error = await Assert.ThrowsAsync<CheckpointException>(() => downloader.GetAsync(file));

        Assert.StartsWith($"Downloading {file.FileName} from {server.BaseUrl}{file.FileName} failed: the server answered HTTP 404 (Not Found).", error.Message, StringComparison.Ordinal);
        Assert.Contains("pass it with --checkpoint FILE", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_cache));
    }

    [Fact]
    public async Task A_refused_connection_fails_fast_with_a_clear_message()
    {
        var file = OfficialWeights.For(ResNeStVariant.ResNeSt50);
        using var downloader = Downloader(new Uri($"http://127.0.0.1:{LoopbackServer.FreePort()}/"));
        var started = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<CheckpointException>(() => downloader.GetAsync(file));

        Assert.StartsWith("Downloading resnest50-528c19ca.pth from http://127.0.0.1:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", error.Message, StringComparison.Ordinal);
        Assert.Contains("--checkpoint FILE (its SHA-256 starts with 528c19ca)", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_cache));
        // Not a timing assertion on speed, only that it did not wait for a timeout to expire.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_instead_of_hanging()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        int port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        using var downloader = new CheckpointDownloader(new CheckpointDownloadOptions
        {
            CacheDirectory = _cache,
            BaseUrl = new Uri($"http://127.0.0.1:{port}/"),
            ReadTimeout = TimeSpan.FromSeconds(1),
        });

        var error = await Assert.ThrowsAsync<CheckpointException>(() => downloader.GetAsync(Published(out _)));

        Assert.Contains("failed: timed out", error.Message, StringComparison.Ordinal);
        Assert.Contains("--checkpoint FILE", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_cache));
    }

    [Fact]
    public async Task Cancellation_stops_the_download_and_leaves_nothing_behind()
    {
        var file = Published(out var files);
        await using var server = new LoopbackServer(files);
        using var downloader = Downloader(server.BaseUrl);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => downloader.GetAsync(file, cancellationToken: cts.Token));

        Assert.Empty(Directory.GetFiles(_cache));
    }

    [Fact]
    public void The_official_table_matches_the_published_weights()
    {
        Assert.Equal(ResNeStVariant.Official.Select(v => v.Name), OfficialWeights.All.Select(w => w.VariantName));
        foreach (var weights in OfficialWeights.All)
        {
            Assert.Equal($"{weights.VariantName}-{weights.Sha256Prefix}.pth", weights.FileName);
            Assert.Matches("^[0-9a-f]{8}$", weights.Sha256Prefix);
        }

        Assert.Equal(
            "https://github.com/zhanghang1989/ResNeSt/releases/download/weights_step1/resnest269-0cc87c48.pth",
            new Uri(new Uri(OfficialWeights.DefaultBaseUrl), OfficialWeights.For(ResNeStVariant.ResNeSt269).FileName).ToString());
    }

    [Fact]
    public async Task A_cached_file_that_only_shares_the_published_prefix_is_not_reused()
    {
        // The official table publishes 8 hex digits (32 bits); a forged file matching them costs ~2^32 hashes. Shortened
        // here to 2 digits so the forgery is found in a few hundred tries: the cache must not trust the prefix alone.
        var file = Published(out var files) with { Sha256Prefix = Convert.ToHexStringLower(SHA256.HashData(_checkpoint))[..2] };
        byte[] forged = Enumerable.Range(0, 100_000).Select(i => BitConverter.GetBytes(i))
            .First(b => Convert.ToHexStringLower(SHA256.HashData(b)).StartsWith(file.Sha256Prefix, StringComparison.Ordinal));
        await File.WriteAllBytesAsync(Path.Combine(_cache, file.FileName), forged);
        await using var server = new LoopbackServer(files);
        using var downloader = Downloader(server.BaseUrl);

        string path = await downloader.GetAsync(file);

        Assert.Equal(_checkpoint, await File.ReadAllBytesAsync(path));
        Assert.Equal(1, server.Requests);

        // A verified file replaced later by another with the same prefix is fetched again too.
        await File.WriteAllBytesAsync(path, forged);
        Assert.Equal(_checkpoint, await File.ReadAllBytesAsync(await downloader.GetAsync(file)));
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public async Task A_pinned_full_hash_refuses_a_file_that_matches_only_the_published_prefix()
    {
        var file = Published(out var files);
        string other = new('0', 56);
        await using var server = new LoopbackServer(files);
        using var downloader = new CheckpointDownloader(new CheckpointDownloadOptions
        {
            CacheDirectory = _cache, BaseUrl = server.BaseUrl, Sha256 = file.Sha256Prefix + other,
        });

        var error = await Assert.ThrowsAsync<CheckpointException>(() => downloader.GetAsync(file));

        Assert.Contains($"not the pinned {file.Sha256Prefix}{other}", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_cache));

        using var pinned = new CheckpointDownloader(new CheckpointDownloadOptions
        {
            CacheDirectory = _cache, BaseUrl = server.BaseUrl, Sha256 = Convert.ToHexStringLower(SHA256.HashData(_checkpoint)),
        });
        Assert.Equal(_checkpoint, await File.ReadAllBytesAsync(await pinned.GetAsync(file)));
    }

    [Theory]
    [InlineData("http://example.com/weights/")]
    [InlineData("http://10.0.0.5/weights/")]
    public void Plain_http_is_refused_except_to_a_loopback_address(string url)
    {
        var error = Assert.Throws<CheckpointException>(() => new CheckpointDownloadOptions { BaseUrl = new Uri(url) }.Validate());
        Assert.Contains("must be an absolute https URL", error.Message, StringComparison.Ordinal);
        new CheckpointDownloadOptions { BaseUrl = new Uri("http://127.0.0.1:8080/weights/") }.Validate();
        new CheckpointDownloadOptions { BaseUrl = new Uri("https://mirror.example.com/weights/") }.Validate();
    }

    [Fact]
    public void Bad_options_are_refused_at_start_up()
    {
        Assert.Throws<CheckpointException>(() => new CheckpointDownloadOptions { Sha256 = "528c19ca" }.Validate());
        Assert.Throws<CheckpointException>(() => new CheckpointDownloadOptions { BaseUrl = new Uri("ftp://example.invalid/") }.Validate());
        Assert.Throws<CheckpointException>(() => new CheckpointDownloadOptions { ConnectTimeout = TimeSpan.Zero }.Validate());
        Assert.Throws<CheckpointException>(() => new CheckpointDownloadOptions { ReadTimeout = TimeSpan.FromSeconds(-1) }.Validate());
        Assert.Throws<CheckpointException>(() => new CheckpointDownloadOptions { CacheDirectory = " " }.Validate());
    }
}
