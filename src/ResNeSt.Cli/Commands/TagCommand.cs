using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Cli.Commands;

/// <summary>
/// <c>resnest tag</c>: batch tagging of existing blobs from the command line (backfills without deploying). Same
/// services as the functions: a batch job row, then each blob through <see cref="BatchJobService.ClassifyItemAsync"/>,
/// the item step of the queue function, so its outcome counts in the job exactly as there.
/// </summary>
internal static class TagCommand
{
    public static Command Create()
    {
        var connection = StorageConnection.Option();
        var container = new Option<string>("--container") { Description = "The container of the images.", DefaultValueFactory = _ => "images" };
        var prefix = new Option<string>("--prefix") { Description = "Only blobs whose names start with this.", DefaultValueFactory = _ => "" };
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model file.", Required = true };
        model.AcceptExistingOnly();
        var concurrency = new Option<int>("--concurrency") { Description = "Blobs in flight (they share the batcher).", DefaultValueFactory = _ => 8 };
        var noTags = new Option<bool>("--no-tags") { Description = "Store results only; do not write blob index tags." };
        var command = new Command("tag", "Classify and tag every blob under a prefix with the pipeline's services (results table, label index, blob tags).")
        {
            connection, container, prefix, model, concurrency, noTags,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetRequiredValue(connection),
            parse.GetRequiredValue(container),
            parse.GetRequiredValue(prefix),
            parse.GetRequiredValue(model).FullName,
            Math.Clamp(parse.GetValue(concurrency), 1, 256),
            !parse.GetValue(noTags),
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(
        string connection, string container, string prefix, string model, int concurrency, bool tagging,
        TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (await StorageConnection.IsMissingAsync("tag", connection, error).ConfigureAwait(false))
        {
            return 2;
        }

        using var host = await PipelineHost.StartAsync(
            new PipelineSettings
            {
                StorageConnection = connection, ImagesContainer = container, ModelPath = model, TaggingEnabled = tagging, MaxBatchSize = concurrency,
            },
            cancellationToken).ConfigureAwait(false);
        var job = await TagAsync(host, prefix, concurrency, output, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(job, PipelineJsonContext.Default.BatchJobDocument)).ConfigureAwait(false);
        await host.StopAsync(cancellationToken).ConfigureAwait(false);
        return job.Failed == 0 ? 0 : 1;
    }

    /// <summary>Runs a batch job in-process: page by page, <paramref name="concurrency"/> blobs at a time.</summary>
    public static async Task<BatchJobDocument> TagAsync(IHost host, string prefix, int concurrency, TextWriter output, CancellationToken cancellationToken)
    {
        var jobs = host.Services.GetRequiredService<BatchJobService>();
        var job = await jobs.CreateJobAsync(prefix, cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        int done = 0;
        var message = new BatchMessage(BatchMessage.EnumerateKind, job.Id, Page: 1);
        while (true)
        {
            var (names, next) = await jobs.EnumeratePageAsync(message, prefix, enqueue: false, cancellationToken).ConfigureAwait(false);
            await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (name, ct) =>
            {
                await jobs.ClassifyItemAsync(job.Id, job.CreatedAt, name, $"cli-{job.Id}", ct).ConfigureAwait(false);
                int n = Interlocked.Increment(ref done);
                if (n % 50 == 0)
                {
                    await output.WriteLineAsync(FormattableString.Invariant($"{n} blobs, {n / clock.Elapsed.TotalSeconds:0.0}/s")).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
            if (next is null)
            {
                break;
            }

            message = message with { Page = message.Page + 1, Continuation = next };
        }

        return (await host.Services.GetRequiredService<BatchJobStore>().GetAsync(job.Id, cancellationToken).ConfigureAwait(false))!;
    }
}
