using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ResNeSt.Cli.Commands;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Storage;
using ResNeSt.Testing.Counting;
using ResNeSt.Testing.Diagnostics;
using ResNeSt.Testing.Hostile;
using ResNeSt.Testing.Samples;
using ResNeSt.Testing.Storage;

namespace ResNeSt.DevTool.LoadTest;

/// <summary>
/// Uploads many small images (some hostile) to a private Azurite as fast as it can and drives every BlobCreated event
/// through <see cref="ClassificationPipeline.ProcessAsync"/> — what the blob-trigger function calls — at a fixed
/// concurrency, delivering each event more than once (immediately, after a delay, or at the end, as Event Grid's
/// at-least-once delivery may). Then checks the outcome against storage: one final result per blob, none lost, no
/// image inferred twice, every hostile file failed with its reason.
/// </summary>
internal static class LoadTestRunner
{
    private const string Container = "images";

    private sealed record Upload(string Name, byte[] Content, HostileFile? Hostile);

    private sealed record Delivery(int Upload, int Attempt, long EmittedAt);

    public static async Task<LoadTestSummary> RunAsync(LoadTestOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(options.TimeLimit);
        var ct = limit.Token;

        var uploads = await progress.StepAsync("Preparing images", () => PrepareUploads(options)).ConfigureAwait(false);
        string? ownModel = null;
        string model = options.ModelPath ?? (ownModel = await progress.StepAsync("Writing a reduced ResNeSt (random weights)", WriteReducedModel).ConfigureAwait(false));
        try
        {
            await progress.WriteLineAsync("Starting Azurite (in memory, loopback only)...").ConfigureAwait(false);
            await using var azurite = await Azurite.StartAsync(cancellationToken: ct).ConfigureAwait(false);
            CountingClassifier? counting = null;
            using var host = await StartHostAsync(azurite.ConnectionString, model, options.MaxBatchSize, c => counting = c, ct).ConfigureAwait(false);
            var pipeline = host.Services.GetRequiredService<ClassificationPipeline>();
            var storage = host.Services.GetRequiredService<PipelineStorage>();
            var classifier = await host.Services.GetRequiredService<ModelRuntime>().GetClassifierAsync(ct).ConfigureAwait(false);
            var batcher = (counting?.Inner as ResNeStClassifier)?.Batcher
                ?? throw new InvalidOperationException("The pipeline's classifier is not the ONNX Runtime engine.");
            long callsBefore = counting!.Calls;
            var statsBefore = batcher.Statistics;

            await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"Uploading {uploads.Count} images ({uploads.Count(u => u.Hostile is not null)} hostile) and delivering each event {options.Duplicates}x at concurrency {options.Concurrency}...")).ConfigureAwait(false);
            using var memory = WorkingSetSampler.Start(TimeSpan.FromMilliseconds(20));
            var run = await DriveAsync(options, uploads, storage.Images, pipeline, ct).ConfigureAwait(false);
            long peak = memory.Peak;

            await progress.WriteLineAsync("Checking storage...").ConfigureAwait(false);
            var rows = await ReadAllAsync<ResultEntity>(storage.Results, CancellationToken.None).ConfigureAwait(false);
            int indexRows = (await ReadAllAsync<TableEntity>(storage.LabelIndex, CancellationToken.None).ConfigureAwait(false)).Count;
            var statsAfter = batcher.Statistics;
            return Summarise(options, uploads, run, rows, indexRows, counting.Calls - callsBefore,
                statsAfter.Images - statsBefore.Images, statsAfter.Runs - statsBefore.Runs, classifier, peak);
        }
        finally
        {
            if (ownModel is not null)
            {
                File.Delete(ownModel);
            }
        }
    }

    private static async Task<T> StepAsync<T>(this TextWriter progress, string what, Func<T> step)
    {
        var clock = Stopwatch.StartNew();
        var result = await Task.Run(step).ConfigureAwait(false);
        await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{what}: {clock.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);
        return result;
    }

    /// <summary>Valid variants of the samples plus hostile files that must be refused, shuffled together.</summary>
    private static List<Upload> PrepareUploads(LoadTestOptions options)
    {
        int hostileCount = (int)Math.Round(options.Images * options.HostileFraction);
        var random = new Random(options.Seed);
        var uploads = new List<Upload>(options.Images);
        foreach (var (name, content) in SampleImages.Variants(options.SamplesDirectory, options.Images - hostileCount, options.Seed))
        {
            uploads.Add(new Upload("valid/" + name, content, null));
        }

        if (hostileCount > 0)
        {
            // Only files with a definite verdict: each must end as a failure with one of its reasons.
            var refused = HostileCorpus.Generate(options.SamplesDirectory, HostileCorpus.DefaultSeed + options.Seed)
                .Where(f => !f.Expected.MayClassify).ToArray();
            random.Shuffle(refused);
            for (int i = 0; i < hostileCount; i++)
            {
                var file = refused[i % refused.Length];
                uploads.Add(new Upload(string.Create(CultureInfo.InvariantCulture, $"hostile/{i:D4}-{file.Name}"), file.Content, file));
            }
        }

        var shuffled = uploads.ToArray();
        random.Shuffle(shuffled);
        return [.. shuffled];
    }

    private static string WriteReducedModel()
    {
        var path = Path.Combine(Path.GetTempPath(), $"resnest-load-test-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        ReducedModel.Write(path);
        return path;
    }

    /// <summary>The Functions app's registration, with the engine wrapped in a counter.</summary>
    private static async Task<IHost> StartHostAsync(string connectionString, string modelPath, int maxBatchSize, Action<CountingClassifier> created, CancellationToken ct)
    {
        var builder = PipelineHost.CreateBuilder(
            new PipelineSettings
            {
                StorageConnection = connectionString,
                ImagesContainer = Container,
                ModelPath = modelPath,
                ExecutionProvider = ExecutionProviderPreference.Cpu,
                MaxBatchSize = maxBatchSize,
            },
            classifierFactory: services => model =>
            {
                var counting = new CountingClassifier(EngineClassifier.FromServices(services)(model));
                created(counting);
                return counting;
            },
            readEnvironment: false);
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        var host = builder.Build();
        await host.StartAsync(ct).ConfigureAwait(false);
        return host;
    }

    private sealed class RunRecord
    {
        public long Started;
        public long UploadsDone;
        public long Finished;
        public long[] Uploaded = [];
        public long[] FirstResult = [];
        public ConcurrentBag<double> DeliveryMs { get; } = [];
        public ConcurrentBag<double> InvocationMs { get; } = [];
        public ConcurrentDictionary<string, int> Outcomes { get; } = new(StringComparer.Ordinal);
        public ConcurrentQueue<string> Errors { get; } = new();
        public int Deliveries;
        public int Retries;
        public bool TimedOut;
    }

    private static async Task<RunRecord> DriveAsync(
        LoadTestOptions options, List<Upload> uploads, BlobContainerClient images, ClassificationPipeline pipeline, CancellationToken ct)
    {
        var record = new RunRecord
        {
            Uploaded = new long[uploads.Count],
            FirstResult = new long[uploads.Count],
            Started = Stopwatch.GetTimestamp(),
        };
        var events = Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
        var schedule = new Random(options.Seed * 31 + 7);
        var pending = new List<Task>();
        var late = new ConcurrentBag<(int Image, int Attempt)>();
        var plans = Enumerable.Range(0, uploads.Count).Select(_ => Enumerable.Range(0, options.Duplicates - 1).Select(_ => schedule.Next(100)).ToArray()).ToArray();
        var delays = Enumerable.Range(0, uploads.Count).Select(_ => schedule.Next(1, 500)).ToArray();

        var workers = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(() => WorkAsync(events.Reader, uploads, images, pipeline, record, ct), ct)).ToArray();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, uploads.Count), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = ct }, async (i, token) =>
            {
                await images.GetBlobClient(uploads[i].Name).UploadAsync(new BinaryData(uploads[i].Content), token).ConfigureAwait(false);
                long now = Stopwatch.GetTimestamp();
                record.Uploaded[i] = now;
                events.Writer.TryWrite(new Delivery(i, 1, now));
                for (int d = 0; d < plans[i].Length; d++)
                {
                    int attempt = d + 2;
                    switch (plans[i][d])
                    {
                        case < 35: // at once: usually handled concurrently with the first delivery
                            events.Writer.TryWrite(new Delivery(i, attempt, Stopwatch.GetTimestamp()));
                            break;
                        case < 70: // a little later: often after the first has finished
                            lock (pending)
                            {
                                pending.Add(DeliverLaterAsync(events.Writer, new Delivery(i, attempt, 0), delays[i], ct));
                            }

                            break;
                        default: // after every upload, in a shuffled order: long after the result was stored
                            late.Add((i, attempt)); // each delivery keeps its own attempt number (and invocation id)
                            break;
                    }
                }
            }).ConfigureAwait(false);
            record.UploadsDone = Stopwatch.GetTimestamp();
            Task[] waiting;
            lock (pending)
            {
                waiting = [.. pending];
            }

            await Task.WhenAll(waiting).ConfigureAwait(false);
            var lateOnes = late.ToArray();
            schedule.Shuffle(lateOnes);
            foreach (var (i, attempt) in lateOnes)
            {
                events.Writer.TryWrite(new Delivery(i, attempt, Stopwatch.GetTimestamp()));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            record.TimedOut = true;
        }
        finally
        {
            events.Writer.TryComplete();
        }

        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            record.TimedOut = true;
        }

        record.Finished = Stopwatch.GetTimestamp();
        if (record.UploadsDone == 0)
        {
            record.UploadsDone = record.Finished;
        }

        return record;
    }

    private static async Task DeliverLaterAsync(ChannelWriter<Delivery> writer, Delivery delivery, int delayMs, CancellationToken ct)
    {
        await Task.Delay(delayMs, ct).ConfigureAwait(false);
        writer.TryWrite(delivery with { EmittedAt = Stopwatch.GetTimestamp() });
    }

    /// <summary>One blob-trigger worker: takes events as they come and runs the function body, retrying what the host would.</summary>
    private static async Task WorkAsync(
        ChannelReader<Delivery> events, List<Upload> uploads, BlobContainerClient images, ClassificationPipeline pipeline, RunRecord record, CancellationToken ct)
    {
        await foreach (var delivery in events.ReadAllAsync(ct).ConfigureAwait(false))
        {
            var upload = uploads[delivery.Upload];
            var invocationId = string.Create(CultureInfo.InvariantCulture, $"load-{delivery.Upload}-{delivery.Attempt}");
            Interlocked.Increment(ref record.Deliveries);
            long dequeued = Stopwatch.GetTimestamp();
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    var outcome = await pipeline.ProcessAsync(images.GetBlobClient(upload.Name), invocationId, ct).ConfigureAwait(false);
                    long done = Stopwatch.GetTimestamp();
                    record.DeliveryMs.Add(Stopwatch.GetElapsedTime(delivery.EmittedAt, done).TotalMilliseconds);
                    record.InvocationMs.Add(Stopwatch.GetElapsedTime(dequeued, done).TotalMilliseconds);
                    var key = outcome.Kind == OutcomeKind.Skipped ? "skipped:" + outcome.Detail : outcome.Kind.ToString().ToLowerInvariant();
                    record.Outcomes.AddOrUpdate(key, 1, (_, n) => n + 1);
                    if (outcome.Kind != OutcomeKind.Skipped)
                    {
                        Interlocked.CompareExchange(ref record.FirstResult[delivery.Upload], done, 0);
                    }

                    break;
                }
                catch (Exception ex) when (ex is not OperationCanceledException && attempt < 5)
                {
                    // The host would fail the invocation and Event Grid would deliver it again later.
                    Interlocked.Increment(ref record.Retries);
                    if (ex is not BlobBusyException)
                    {
                        record.Errors.Enqueue($"{upload.Name}: {ex.GetType().Name}: {ex.Message}");
                    }

                    await Task.Delay(100 * attempt, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    record.Errors.Enqueue($"{upload.Name}: gave up after {attempt} attempts: {ex.GetType().Name}: {ex.Message}");
                    record.Outcomes.AddOrUpdate("error", 1, (_, n) => n + 1);
                    break;
                }
            }
        }
    }

    private static async Task<List<T>> ReadAllAsync<T>(TableClient table, CancellationToken ct) where T : class, ITableEntity
    {
        var rows = new List<T>();
        await foreach (var row in table.QueryAsync<T>(cancellationToken: ct).ConfigureAwait(false))
        {
            rows.Add(row);
        }

        return rows;
    }

    private static LoadTestSummary Summarise(
        LoadTestOptions options, List<Upload> uploads, RunRecord run, List<ResultEntity> rows, int indexRows,
        long classifierCalls, long onnxImages, long onnxRuns, IImageClassifier classifier, long peakWorkingSet)
    {
        var problems = new List<string>();
        var byBlob = rows.Where(r => r.Container == Container).GroupBy(r => r.BlobName, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        int lost = 0, duplicateResults = 0, succeeded = 0, failed = 0;
        var reasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var upload in uploads)
        {
            var results = byBlob.GetValueOrDefault(upload.Name) ?? [];
            var final = results.Where(r => r.Status is ResultStatus.Succeeded or ResultStatus.Failed).ToList();
            if (final.Count == 0)
            {
                lost++;
                Note($"lost: {upload.Name} ({(results.Count == 0 ? "no result" : results[0].Status)})");
                continue;
            }

            duplicateResults += results.Count - 1;
            var result = final[0];
            if (result.Status == ResultStatus.Succeeded)
            {
                succeeded++;
            }
            else
            {
                failed++;
                reasons[result.ErrorCode ?? "?"] = reasons.GetValueOrDefault(result.ErrorCode ?? "?") + 1;
            }

            if (upload.Hostile is { } hostile)
            {
                var reason = result.Status == ResultStatus.Failed ? Enum.GetValues<ImageRejectionReason>().FirstOrDefault(r => ImageRejectedException.ReasonCode(r) == result.ErrorCode) : (ImageRejectionReason?)null;
                if (result.Status != ResultStatus.Failed || reason is null || !hostile.Expected.Accepts(reason) || string.IsNullOrWhiteSpace(result.ErrorMessage))
                {
                    Note($"hostile {upload.Name}: {result.Status} {result.ErrorCode}, expected {hostile.Expected}");
                }
            }
            else if (result.Status != ResultStatus.Succeeded)
            {
                Note($"valid {upload.Name}: {result.Status} {result.ErrorCode} {result.ErrorMessage}");
            }
        }

        // Each upload reaches the engine once (the zero-byte ones not at all); only the valid ones reach ONNX Runtime.
        int nonEmpty = uploads.Count(u => u.Content.Length > 0);
        int duplicatedInferences = (int)Math.Max(0, classifierCalls - nonEmpty) + (int)Math.Max(0, onnxImages - succeeded);
        if (lost > 0)
        {
            problems.Insert(0, $"{lost} uploads have no final result");
        }

        if (duplicateResults > 0 || indexRows != succeeded)
        {
            problems.Add($"{duplicateResults} duplicate result rows; {indexRows} label-index rows for {succeeded} classified blobs");
        }

        if (classifierCalls != nonEmpty || onnxImages != succeeded)
        {
            problems.Add($"the engine was asked {classifierCalls} times for {nonEmpty} non-empty uploads; ONNX Runtime inferred {onnxImages} images for {succeeded} classified blobs");
        }

        foreach (var error in run.Errors.Take(10))
        {
            problems.Add("error: " + error);
        }

        if (run.TimedOut)
        {
            problems.Add($"stopped by the {options.TimeLimit.TotalSeconds:F0} s limit");
        }

        var latencies = Enumerable.Range(0, uploads.Count).Where(i => run.FirstResult[i] != 0)
            .Select(i => Stopwatch.GetElapsedTime(run.Uploaded[i], run.FirstResult[i]).TotalMilliseconds).Order().ToArray();
        var deliveryMs = run.DeliveryMs.Order().ToArray();
        var invocationMs = run.InvocationMs.Order().ToArray();
        double wall = Stopwatch.GetElapsedTime(run.Started, run.Finished).TotalSeconds;
        return new LoadTestSummary(
            problems.Count == 0,
            problems,
            classifier.Model.Variant,
            classifier.ExecutionProvider,
            uploads.Count,
            uploads.Count(u => u.Hostile is not null),
            run.Deliveries,
            options.Concurrency,
            options.Duplicates,
            succeeded,
            failed,
            reasons,
            lost,
            duplicateResults,
            duplicatedInferences,
            classifierCalls,
            onnxImages,
            onnxRuns,
            onnxRuns == 0 ? 0 : Math.Round((double)onnxImages / onnxRuns, 2),
            new SortedDictionary<string, int>(run.Outcomes, StringComparer.Ordinal),
            run.Retries,
            Math.Round(Stopwatch.GetElapsedTime(run.Started, run.UploadsDone).TotalSeconds, 2),
            Math.Round(wall, 2),
            Math.Round((succeeded + failed) / wall, 1),
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.95),
            Percentile(latencies, 0.99),
            Percentile(deliveryMs, 0.95),
            Percentile(invocationMs, 0.50),
            Percentile(invocationMs, 0.95),
            Math.Round(peakWorkingSet / (1024.0 * 1024.0), 1),
            run.TimedOut);

        void Note(string problem)
        {
            if (problems.Count < 50)
            {
                problems.Add(problem);
            }
        }
    }

    private static double Percentile(double[] sorted, double p) => Math.Round(Percentiles.NearestRank(sorted, p), 1);
}
