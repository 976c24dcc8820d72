using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Storage;
using ResNeSt.Testing.Storage;

namespace ResNeSt.DevTool.Commands;

/// <summary>
/// <c>resnest-dev pipeline-bench</c>: do storage round-trips hide behind inference? Measures, in one run with one model and
/// batch size: (a) the engine alone, bytes → classification, N concurrent callers; (b) the blob-trigger service on
/// Azurite, N concurrent invocations, each blob fetched, claimed, classified, stored and tagged. Reports both and (b)/(a).
/// </summary>
internal static class PipelineBenchCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model file.", Required = true };
        model.AcceptExistingOnly();
        var count = new Option<int>("--count") { Description = "Uploads to process.", DefaultValueFactory = _ => 200 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent invocations (and engine callers).", DefaultValueFactory = _ => 8 };
        var batch = new Option<int>("--batch-size") { Description = "The batcher's largest batch (Inference:MaxBatchSize).", DefaultValueFactory = _ => 8 };
        var roundsOption = new Option<int>("--rounds") { Description = "Alternating engine/service measurements.", DefaultValueFactory = _ => 2 };
        var samples = new Option<DirectoryInfo>("--images", "--samples") { Description = "Folder of images to cycle through.", DefaultValueFactory = _ => new DirectoryInfo("samples/images") };
        samples.AcceptExistingOnly();
        var command = new Command("pipeline-bench", "Throughput of the blob-trigger service on Azurite relative to the engine alone, same batch size, same run.")
        {
            model, count, concurrency, batch, roundsOption, samples,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetRequiredValue(model).FullName, Math.Max(1, parse.GetValue(count)), Math.Clamp(parse.GetValue(concurrency), 1, 256),
            Math.Clamp(parse.GetValue(batch), 1, 256), Math.Clamp(parse.GetValue(roundsOption), 1, 20), parse.GetRequiredValue(samples), parse.InvocationConfiguration.Output, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string model, int count, int concurrency, int batchSize, int rounds, DirectoryInfo samples, TextWriter output, CancellationToken cancellationToken)
    {
        var sources = samples.GetFiles().OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => File.ReadAllBytes(f.FullName)).ToArray();
        await using var azurite = await Azurite.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        using var host = await PipelineHost.StartAsync(
            new PipelineSettings { StorageConnection = azurite.ConnectionString, ModelPath = model, TaggingEnabled = true, MaxBatchSize = batchSize },
            cancellationToken).ConfigureAwait(false);
        var runtime = host.Services.GetRequiredService<ModelRuntime>();
        var classifier = await runtime.GetClassifierAsync(cancellationToken).ConfigureAwait(false);
        var storage = host.Services.GetRequiredService<PipelineStorage>();
        var pipeline = host.Services.GetRequiredService<ClassificationPipeline>();

        // Every upload is a distinct blob; cycling the samples keeps the decode cost representative. The two measurements
        // alternate (engine, service, engine, service, ...) so that a busy machine weighs on both alike.
        var images = Enumerable.Range(0, count).Select(i => sources[i % sources.Length]).ToArray();
        var names = Enumerable.Range(0, count * rounds).Select(i => FormattableString.Invariant($"bench/{i:D6}")).ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, names.Length), cancellationToken, async (i, ct) =>
            await storage.Images.GetBlobClient(names[i]).UploadAsync(new BinaryData(images[i % count]), ct).ConfigureAwait(false))
            .ConfigureAwait(false);

        // Warm both paths once so neither pays JIT or first-connection costs in the timed part.
        await classifier.ClassifyAsync(images[0], cancellationToken).ConfigureAwait(false);
        await storage.Images.GetBlobClient(names[0]).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken };
        var engineTime = TimeSpan.Zero;
        var serviceTime = TimeSpan.Zero;
        int succeeded = 0;
        await output.WriteLineAsync(FormattableString.Invariant(
            $"model {classifier.Model.Variant} on {classifier.ExecutionProvider}, {count} images x {rounds} rounds, concurrency {concurrency}, max batch {batchSize}")).ConfigureAwait(false);
        for (int round = 0; round < rounds; round++)
        {
            var engine = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, count), parallel,
                async (i, ct) => await classifier.ClassifyAsync(images[i], ct).ConfigureAwait(false)).ConfigureAwait(false);
            engine.Stop();

            int offset = round * count;
            var service = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(offset, count), parallel, async (i, ct) =>
            {
                var outcome = await pipeline.ProcessAsync(storage.Images.GetBlobClient(names[i]), $"bench-{i}", ct).ConfigureAwait(false);
                if (outcome.Kind == OutcomeKind.Succeeded)
                {
                    Interlocked.Increment(ref succeeded);
                }
            }).ConfigureAwait(false);
            service.Stop();
            engineTime += engine.Elapsed;
            serviceTime += service.Elapsed;
            await output.WriteLineAsync(FormattableString.Invariant(
                $"round {round + 1}: engine {count / engine.Elapsed.TotalSeconds:0.00} images/s, service {count / service.Elapsed.TotalSeconds:0.00} images/s, ratio {engine.Elapsed / service.Elapsed:0.000}")).ConfigureAwait(false);
        }

        double engineRate = count * rounds / engineTime.TotalSeconds;
        double serviceRate = count * rounds / serviceTime.TotalSeconds;
        await output.WriteLineAsync(FormattableString.Invariant($"engine alone (bytes → classification): {engineRate,8:0.00} images/s")).ConfigureAwait(false);
        await output.WriteLineAsync(FormattableString.Invariant($"blob-trigger service on Azurite:       {serviceRate,8:0.00} images/s")).ConfigureAwait(false);
        await output.WriteLineAsync(FormattableString.Invariant($"ratio service/engine: {serviceRate / engineRate:0.000} (target ≥ 0.8); succeeded {succeeded}/{count * rounds}")).ConfigureAwait(false);
        await host.StopAsync(cancellationToken).ConfigureAwait(false);
        return succeeded == count * rounds ? 0 : 1;
    }
}
