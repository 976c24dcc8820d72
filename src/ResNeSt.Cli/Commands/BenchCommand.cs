using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ResNeSt.Inference.Batching;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;

namespace ResNeSt.Cli.Commands;

/// <summary>
/// <c>resnest bench</c>: end-to-end throughput (bytes → classification through the batcher, as the product runs it)
/// against bare inference of the same session on ready tensors at the same batch size, measured in the same process:
/// bare for half the time, end to end, then bare again, so drift (turbo, other load) hits both alike.
/// </summary>
internal static class BenchCommand
{
    private static readonly string[] s_imageExtensions = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"];

    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelOption();
        var images = new Option<DirectoryInfo>("--images") { Description = "Directory of images to cycle through.", Required = true };
        var batch = InferenceCommandSupport.PositiveOption("--batch-size", "Maximum batch size (and the bare-inference batch).", 8, 1024);
        batch.Aliases.Add("--batch"); // the name before 2026-12
        var concurrency = new Option<int?>("--concurrency") { Description = "Concurrent callers (default: 2 × batch, so the next batch fills while one runs)." };
        var seconds = InferenceCommandSupport.PositiveOption("--seconds", "Seconds of end-to-end measurement (bare inference gets the same in total).", 20, 3600);
        var provider = InferenceCommandSupport.ProviderOption();
        var crop = InferenceCommandSupport.CropOption();
        var threads = new Option<int>("--intra-op-threads") { Description = "ORT CPU intra-op threads (0 = one per core).", DefaultValueFactory = _ => 0 };
        var delay = new Option<double>("--max-batch-delay-ms") { Description = "How long a batch may wait to fill.", DefaultValueFactory = _ => 5 };
        var decode = InferenceCommandSupport.DecodeOption();

        var command = new Command("bench", "Measure end-to-end and bare-inference throughput of a model on a directory of images; prints a JSON summary.")
        {
            model, images, batch, concurrency, seconds, provider, crop, threads, delay, decode,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var batchSize = parse.GetValue(batch);
            return RunAsync(
                new BenchArguments(
                    parse.GetRequiredValue(model),
                    parse.GetRequiredValue(images),
                    batchSize,
                    parse.GetValue(concurrency) ?? (2 * batchSize),
                    parse.GetValue(seconds),
                    InferenceCommandSupport.ParseProvider(parse.GetValue(provider)),
                    parse.GetValue(crop),
                    parse.GetValue(threads),
                    TimeSpan.FromMilliseconds(parse.GetValue(delay)),
                    InferenceCommandSupport.ParseDecode(parse.GetValue(decode))),
                parse.InvocationConfiguration.Output,
                parse.InvocationConfiguration.Error,
                cancellationToken);
        });
        return command;
    }

    internal sealed record BenchArguments(
        FileInfo Model, DirectoryInfo Images, int Batch, int Concurrency, double Seconds, ExecutionProviderPreference Provider, int? Crop, int IntraOpThreads, TimeSpan MaxBatchDelay,
        DecodeMode Decode = DecodeMode.Fast);

    internal static async Task<int> RunAsync(BenchArguments args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (args.Concurrency < 1)
        {
            await error.WriteLineAsync("resnest bench: --concurrency must be at least 1.");
            return 2;
        }

        var files = args.Images.Exists
            ? args.Images.EnumerateFiles().Where(f => s_imageExtensions.Contains(f.Extension, StringComparer.OrdinalIgnoreCase)).OrderBy(f => f.Name, StringComparer.Ordinal).ToArray()
            : [];
        if (files.Length == 0)
        {
            await error.WriteLineAsync($"resnest bench: no images ({string.Join(", ", s_imageExtensions)}) in '{args.Images.FullName}'.");
            return 2;
        }

        var images = new byte[files.Length][];
        for (var i = 0; i < files.Length; i++)
        {
            images[i] = await File.ReadAllBytesAsync(files[i].FullName, cancellationToken);
        }

        using var loggerFactory = InferenceCommandSupport.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("resnest.bench");
        var inference = new InferenceOptions
        {
            ExecutionProvider = args.Provider,
            MaxBatchSize = args.Batch,
            MaxBatchDelay = args.MaxBatchDelay,
            QueueCapacity = Math.Max(args.Concurrency, args.Batch),
            IntraOpThreads = args.IntraOpThreads,
            CudaPaddedBatchSizes = [.. new InferenceOptions().CudaPaddedBatchSizes.Where(s => s < args.Batch), args.Batch],
        };

        ResNeStClassifier classifier;
        try
        {
            classifier = ResNeStClassifier.Load(args.Model.FullName, inference, new ModelLoadOptions(args.Crop), new ClassifierOptions(Decode: args.Decode), logger);
        }
        catch (Exception ex) when (ex is ModelContractException or ExecutionProviderUnavailableException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            await error.WriteLineAsync($"resnest bench: {ex.Message}");
            return 2;
        }

        await using (classifier)
        {
            var engine = classifier.Engine;
            var batch = Math.Min(args.Batch, engine.MaxBatchSize);
            var half = TimeSpan.FromSeconds(args.Seconds / 2);
            var progress = new BenchProgress(error, engine, batch, args.Seconds);
            progress.Phase("bare inference", half);
            var bareFirst = MeasureBare(engine, batch, half, cancellationToken);
            progress.Phase("end to end", TimeSpan.FromSeconds(args.Seconds), bareFirst.ImagesPerSecond);
            var endToEnd = await MeasureEndToEndAsync(classifier, images, args.Concurrency, TimeSpan.FromSeconds(args.Seconds), cancellationToken);
            progress.Phase("bare inference again", half, endToEnd.Summary.ImagesPerSecond);
            var bareSecond = MeasureBare(engine, batch, half, cancellationToken);
            progress.Done(bareSecond.ImagesPerSecond);
            var bareImages = bareFirst.Images + bareSecond.Images;
            var bare = new BareJson(
                bareFirst.Runs + bareSecond.Runs,
                bareImages,
                bareFirst.Seconds + bareSecond.Seconds,
                bareImages / (bareFirst.Seconds + bareSecond.Seconds),
                ((bareFirst.CpuMsPerImage * bareFirst.Images) + (bareSecond.CpuMsPerImage * bareSecond.Images)) / bareImages);

            var stats = classifier.Batcher.Statistics;
            // Ascending sizes; insertion order is the JSON order.
            var batchSizes = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var size = 1; size < stats.BatchSizes.Count; size++)
            {
                if (stats.BatchSizes[size] > 0)
                {
                    batchSizes[size.ToString(CultureInfo.InvariantCulture)] = stats.BatchSizes[size];
                }
            }

            var summary = new BenchSummary(
                engine.Card.Variant,
                engine.ModelSha256,
                engine.Card.Precision.ToString().ToLowerInvariant(),
                engine.ExecutionProvider,
                engine.Card.CropSize,
                batch,
                engine.PaddedBatchSize(batch),
                args.Concurrency,
                args.IntraOpThreads,
                images.Length,
                endToEnd.Summary,
                new StagesJson(
                    Round(endToEnd.MeanDecodeMs),
                    Round(endToEnd.MeanQueueWaitMs),
                    Round(stats.Runs == 0 ? 0 : stats.TotalInferenceMs / stats.Runs),
                    Round(stats.Images == 0 ? 0 : stats.TotalInferenceMs / stats.Images),
                    Round(stats.Images == 0 ? 0 : stats.TotalPostprocessMs / stats.Images, 4)),
                batchSizes,
                bare with { ImagesPerSecond = Round(bare.ImagesPerSecond), Seconds = Round(bare.Seconds), CpuMsPerImage = Round(bare.CpuMsPerImage) },
                Round(bare.ImagesPerSecond == 0 ? 0 : endToEnd.Summary.ImagesPerSecond / bare.ImagesPerSecond, 3),
                Round(endToEnd.Summary.CpuMsPerImage == 0 ? 0 : bare.CpuMsPerImage / endToEnd.Summary.CpuMsPerImage, 3),
                Round(Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0), 1),
                args.Decode.ToString().ToLowerInvariant());
            await output.WriteLineAsync(CliJson.Serialize(summary, InferenceJsonContext.Default.BenchSummary));
            return endToEnd.Summary.Errors == 0 ? 0 : 1;
        }
    }

    private static double Round(double value, int digits = 2) => Math.Round(value, digits, MidpointRounding.AwayFromZero);

    private static BareJson MeasureBare(InferenceEngine engine, int batchSize, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var batch = engine.CreateBatch();
        var random = new Random(42);
        for (var i = 0; i < batchSize; i++)
        {
            var slot = batch.Slot(i);
            for (var j = 0; j < slot.Length; j++)
            {
                slot[j] = (float)((random.NextDouble() * 4) - 2);
            }
        }

        engine.Run(batch, batchSize); // not counted: a first run at a new shape allocates
        long runs = 0;
        var cpuStarted = Process.GetCurrentProcess().TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            engine.Run(batch, batchSize);
            runs++;
        }
        while (Stopwatch.GetElapsedTime(started) < duration);

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuStarted).TotalMilliseconds;
        return new BareJson(runs, runs * batchSize, seconds, runs * batchSize / seconds, cpuMs / (runs * batchSize));
    }

    private sealed record EndToEndResult(EndToEndJson Summary, double MeanDecodeMs, double MeanQueueWaitMs);

    /// <summary>
    /// Callers loop over the images for <paramref name="duration"/> after the first batch ran. Images complete a batch at
    /// a time, so throughput is the images of the batches that ended after the first one and before the deadline, over
    /// the time from the end of the first batch to the end of the last: the ramp-up (a first batch has nothing to overlap with) and the
    /// drain are excluded, as the untimed first run is excluded from bare inference.
    /// </summary>
    private static async Task<EndToEndResult> MeasureEndToEndAsync(ResNeStClassifier classifier, byte[][] images, int concurrency, TimeSpan duration, CancellationToken cancellationToken)
    {
        var latencies = new List<double>[concurrency];
        var completions = new List<long>[concurrency];
        var decodeMs = new double[concurrency];
        var queueMs = new double[concurrency];
        var errors = new long[concurrency];
        var next = -1;
        long firstCompletion = 0;
        var windowTicks = (long)(duration.TotalSeconds * Stopwatch.Frequency);

        bool Running()
        {
            var first = Volatile.Read(ref firstCompletion);
            return first == 0 || Stopwatch.GetTimestamp() < first + windowTicks;
        }

        async Task Caller(int id)
        {
            await Task.Yield();
            var mine = latencies[id] = new List<double>(4096);
            var done = completions[id] = new List<long>(4096);
            while (Running())
            {
                var image = images[(int)((uint)Interlocked.Increment(ref next) % (uint)images.Length)];
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    var (c, inference) = await classifier.ClassifyAsync(image, InferenceRequest.Default, cancellationToken);
                    mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    Interlocked.CompareExchange(ref firstCompletion, inference.RunEndedTimestamp, 0);
                    done.Add(inference.RunEndedTimestamp);
                    decodeMs[id] += c.Timings.DecodeAndPreprocessMs;
                    queueMs[id] += c.Timings.QueueWaitMs;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    errors[id]++;
                }
            }
        }

        var cpuStarted = Process.GetCurrentProcess().TotalProcessorTime;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(Caller));
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuStarted).TotalMilliseconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var count = all.Length;
        var times = completions.SelectMany(l => l).Order().ToArray();
        var deadline = times.Length == 0 ? 0 : times[0] + windowTicks;
        // Every image of a batch carries the same run-end timestamp, so the first batch is exactly the window's start.
        var inWindow = times.Where(t => t > times[0] && t <= deadline).ToArray();
        var windowSeconds = inWindow.Length == 0 ? 0 : (inWindow[^1] - times[0]) / (double)Stopwatch.Frequency;
        var summary = new EndToEndJson(
            count,
            inWindow.Length,
            errors.Sum(),
            Round(windowSeconds),
            Round(windowSeconds == 0 ? 0 : inWindow.Length / windowSeconds),
            new LatencyJson(Round(Percentiles.NearestRank(all, 0.50)), Round(Percentiles.NearestRank(all, 0.95)), Round(count == 0 ? 0 : all.Average())),
            Round(count == 0 ? 0 : cpuMs / count));
        return new EndToEndResult(summary, count == 0 ? 0 : decodeMs.Sum() / count, count == 0 ? 0 : queueMs.Sum() / count);
    }
}
