using System.Diagnostics;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Cli.Tests.Infrastructure;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Storage;
using ResNeSt.Pipeline.Tagging;
using ResNeSt.Testing.Samples;
using Xunit.Abstractions;

namespace ResNeSt.Cli.Tests.Worker;

/// <summary>
/// Crash recovery of the batch-tagging path: <c>resnest worker</c> runs as its own process against a private Azurite,
/// a batch job over the images container feeds it through the queue (as <c>POST /api/batches</c> starts it), and the
/// test SIGKILLs it at seeded moments mid-batch, restarts it, and checks after the drain that nothing was lost and
/// nothing classified more often than the crashes explain.
/// </summary>
public sealed class WorkerCrashRecoveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int GoodImages = 200;
    private const int Kills = 4;
    private const int Seed = 20261128;

    // host.json: batchSize 16 + newBatchThreshold 16 messages in flight at most, poison after 5 deliveries.
    private const int MaxInFlight = 32;
    private const int MaxDequeueCount = 5;

    private static readonly Dictionary<string, string> s_badImages = new(StringComparer.Ordinal)
    {
        ["bad/empty.png"] = "empty",
        ["bad/text.png"] = "unsupported_format",
        ["bad/truncated.png"] = "corrupt",
    };

    private AzuriteWithModel? _storage;

    private AzuriteWithModel Storage => _storage ?? throw new InvalidOperationException("Not initialised.");

    public async Task InitializeAsync() => _storage = await AzuriteWithModel.StartAsync("resnest-worker-crash-", seed: 5);

    public async Task DisposeAsync()
    {
        if (_storage is not null)
        {
            await _storage.DisposeAsync();
        }
    }

    [Fact]
    public async Task Killed_workers_lose_no_image_and_classify_none_more_often_than_the_kills_explain()
    {
        var connection = Storage.ConnectionString;
        var images = new BlobServiceClient(connection).GetBlobContainerClient(ResourceNames.Default.Containers.Images);
        await images.CreateIfNotExistsAsync();
        var uploads = Enumerable.Range(0, GoodImages).Select(i => ($"photos/{i:D4}.png", GeneratedPng(i)))
            .Concat(s_badImages.Keys.Select(name => (name, BadImage(name))))
            .ToArray();
        await Parallel.ForEachAsync(uploads, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (upload, ct) =>
            await images.GetBlobClient(upload.Item1).UploadAsync(new BinaryData(upload.Item2), overwrite: true, ct));

        // The job, started exactly as the batch API starts it: a job row and the first "enumerate" message.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ImageStorage"] = connection,
            ["Model:Path"] = Storage.ModelPath,
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddClassificationPipeline(configuration).BuildServiceProvider();
        var storage = services.GetRequiredService<PipelineStorage>();
        var jobs = services.GetRequiredService<BatchJobService>();
        await storage.EnsureCreatedAsync(default);
        var job = await jobs.StartAsync("", default);

        var audit = Path.Combine(Storage.Folder, "classifications.tsv");
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Inference__ExecutionProvider"] = "Cpu",
            ["Inference__IntraOpThreads"] = "1",
            // A killed worker's messages reappear 2–4 s after the kill (lease 4 s, renewed every 2 s); its claims have
            // expired by then (1 s, a margin over the worker's rule claim ≤ lease / 2 for the queue's 1 s time granularity),
            // so each kill costs each message in flight exactly one delivery: 4 kills stay under maxDequeueCount 5.
            ["Pipeline__ClaimTimeout"] = "00:00:01",
            // host.json's retry delay (30 s) and polling interval shortened; batch size and maxDequeueCount stay.
            ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:01",
            ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.500",
            ["StorageRetry__Delay"] = "00:00:00.200",
        };
        string[] arguments = ["--connection", connection, "--model", Storage.ModelPath, "--lease", "00:00:04", "--audit", audit];

        // Kill k happens once the audit shows a seeded number of classifications: k/(Kills+1) of the images ± 5 %.
        var random = new Random(Seed);
        var thresholds = Enumerable.Range(1, Kills)
            .Select(k => (int)(GoodImages * ((double)k / (Kills + 1) + ((random.NextDouble() - 0.5) * 0.1))))
            .ToArray();
        var killedPids = new List<int>();
        var clock = Stopwatch.StartNew();
        foreach (var threshold in thresholds)
        {
            using var worker = WorkerProcess.Start(arguments, environment);
            var deadline = clock.Elapsed + TimeSpan.FromMinutes(3);
            while (CountLines(audit) < threshold)
            {
                Assert.False(worker.HasExited, $"The worker exited on its own:\n{worker.Log}");
                Assert.True(clock.Elapsed < deadline, $"No progress to {threshold} classifications:\n{worker.Log}");
                await Task.Delay(20);
            }

            await worker.KillAsync();
            killedPids.Add(worker.Id);
            output.WriteLine($"kill {killedPids.Count}: pid {worker.Id} SIGKILLed at {CountLines(audit)} classifications ({clock.Elapsed.TotalSeconds:0.0} s)");
        }

        int finalPid;
        using (var last = WorkerProcess.Start([.. arguments, "--drain"], environment))
        {
            finalPid = last.Id;
            Assert.True(await last.WaitForExitAsync(TimeSpan.FromMinutes(4)), $"The last worker did not drain the queue:\n{last.Log}");
            Assert.True(last.ExitCode == 0, last.Log);
            output.WriteLine($"drained by pid {last.Id} after {clock.Elapsed.TotalSeconds:0.0} s");
        }

        // 1. Every image has exactly one terminal result: the good ones classified, the bad ones failed with their reason.
        var results = new Dictionary<string, ResultEntity>(StringComparer.Ordinal);
        await foreach (var row in storage.Results.QueryAsync<ResultEntity>())
        {
            Assert.True(results.TryAdd(row.BlobName, row), $"two result rows for {row.BlobName}");
        }

        var lost = uploads.Select(u => u.Item1).Where(name => !results.ContainsKey(name)).ToArray();
        Assert.Empty(lost);
        Assert.Equal(uploads.Length, results.Count);
        foreach (var (name, _) in uploads)
        {
            var result = results[name];
            Assert.Null(result.ClaimId);
            Assert.Equal((await images.GetBlobClient(name).GetPropertiesAsync()).Value.ETag.ToString(), result.BlobETag);
            if (s_badImages.TryGetValue(name, out var code))
            {
                Assert.Equal((ResultStatus.Failed, code), (result.Status, result.ErrorCode));
            }
            else
            {
                Assert.True(result.Status == ResultStatus.Succeeded, $"{name}: {result.Status} {result.ErrorCode} {result.ErrorMessage}");
                Assert.Equal(BlobTagger.SanitizeValue(result.Top1Label!), (await images.GetBlobClient(name).GetTagsAsync()).Value.Tags[BlobTagger.LabelKey]);
            }
        }

        // 2. The label index holds exactly one row per classified image (no row orphaned by a kill mid-write).
        var indexed = new List<string>();
        await foreach (var row in storage.LabelIndex.QueryAsync<LabelIndexEntity>())
        {
            indexed.Add(row.BlobName);
        }

        Assert.Equal(GoodImages, indexed.Count);
        Assert.Equal(GoodImages, indexed.Distinct(StringComparer.Ordinal).Count());

        // 3. The job counts every image once, by its real outcome; nothing was poisoned; the queues are empty.
        var progress = (await services.GetRequiredService<BatchJobStore>().GetAsync(job.Id, default))!;
        Assert.Equal(("completed", uploads.Length, GoodImages, s_badImages.Count, 0),
            (progress.Status, progress.Queued, progress.Succeeded, progress.Failed, progress.Skipped));
        var queues = new QueueServiceClient(connection);
        Assert.Equal(0, (await storage.ClassifyQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Equal(0, (await queues.GetQueueClient(storage.ClassifyQueue.Name + "-poison").GetPropertiesAsync()).Value.ApproximateMessagesCount);

        // 4. Classifications per image. A live worker classifies a blob version once (the claim and the in-process
        // de-duplication see to that); a blob is classified again only when a worker was killed after starting its
        // classification and before deleting its message. So per image: at most one classification per worker
        // process, at most one per delivery of its message (distinct dequeue counts, ≤ maxDequeueCount), hence at most
        // 1 + kills; and in all at most one extra per message in flight at each kill (≤ 32 per kill).
        var lines = File.ReadAllLines(audit).Select(l => l.Split('\t')).Select(f =>
            (Pid: int.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture), Message: f[1],
             Delivery: int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), Blob: Uri.UnescapeDataString(f[3])))
            .ToArray();
        var perBlob = lines.GroupBy(l => l.Blob, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        int extra = 0, repeated = 0;
        foreach (var (name, _) in uploads.Where(u => u.Item1 != "bad/empty.png"))
        {
            Assert.True(perBlob.TryGetValue(name, out var classified), $"{name} was never classified");
            Assert.True(classified.Length == classified.Select(c => c.Pid).Distinct().Count(), $"{name} classified twice by one worker");
            Assert.True(classified.Length == classified.Select(c => c.Delivery).Distinct().Count(), $"{name} classified twice in one delivery");
            Assert.All(classified, c => Assert.InRange(c.Delivery, 1, MaxDequeueCount));
            Assert.Single(classified.Select(c => c.Message).Distinct()); // one message per blob in a job
            Assert.True(classified.Count(c => !killedPids.Contains(c.Pid)) <= 1, $"{name} classified again after its result was final");
            Assert.InRange(classified.Length, 1, 1 + Kills);
            extra += classified.Length - 1;
            repeated += classified.Length > 1 ? 1 : 0;
        }

        Assert.False(perBlob.ContainsKey("bad/empty.png")); // failed from its properties, never downloaded
        Assert.InRange(extra, 0, Kills * MaxInFlight);
        Assert.Equal(uploads.Length - 1 + extra, lines.Length);
        output.WriteLine(
            $"uploaded {uploads.Length}, succeeded {progress.Succeeded}, failed {progress.Failed} (with reasons), lost {lost.Length}, "
            + $"classifications {lines.Length} = {uploads.Length - 1} + {extra} extra over {repeated} images (bound {Kills * MaxInFlight}), "
            + $"kills {killedPids.Count}, final worker pid {finalPid}, {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private static int CountLines(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        int count = 0, b;
        using var buffered = new BufferedStream(stream);
        while ((b = buffered.ReadByte()) >= 0)
        {
            count += b == '\n' ? 1 : 0;
        }

        return count;
    }

    private static byte[] GeneratedPng(int seed) => GeneratedImages.Png(seed, 48, 40);

    private static byte[] BadImage(string name) => name switch
    {
        "bad/empty.png" => [],
        "bad/text.png" => "not an image at all"u8.ToArray(),
        _ => GeneratedPng(9999).AsSpan(0, 120).ToArray(),
    };
}
