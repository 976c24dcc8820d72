using System.CommandLine;
using ResNeSt.Cli;
using ResNeSt.DevTool.LoadTest;

namespace ResNeSt.DevTool.Commands;

/// <summary>
/// <c>resnest-dev load-test</c>: thousands of small uploads (some hostile) through the blob-trigger service on a private
/// Azurite, every event delivered more than once; prints a JSON summary and exits 0 only when every upload has exactly
/// one result, none is lost, none was inferred twice and every hostile file failed with its reason.
/// </summary>
internal static class LoadTestCommand
{
    public static Command Create()
    {
        var images = new Option<int>("--count") { Description = "Uploads in total, hostile ones included.", DefaultValueFactory = _ => 2000 };
        var hostile = new Option<double>("--hostile-fraction") { Description = "Share of the uploads taken from the hostile corpus (0–1).", DefaultValueFactory = _ => 0.05 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent blob-trigger invocations (and uploads).", DefaultValueFactory = _ => 16 };
        var duplicates = new Option<int>("--duplicates") { Description = "Deliveries of each BlobCreated event (at-least-once delivery).", DefaultValueFactory = _ => 2 };
        var seconds = new Option<int>("--seconds") { Description = "Stop the whole run after this many seconds (a stopped run fails).", DefaultValueFactory = _ => 600 };
        var model = new Option<FileInfo>("--model") { Description = "ONNX model; default: a reduced ResNeSt with random weights, written for the run." };
        model.AcceptExistingOnly();
        var samples = new Option<DirectoryInfo>("--images", "--samples") { Description = "Folder of sample photos the uploads are derived from.", DefaultValueFactory = _ => new DirectoryInfo("samples/images") };
        samples.AcceptExistingOnly();
        var seed = new Option<int>("--seed") { Description = "Seeds the images, the hostile picks and the delivery order.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch-size") { Description = "The batcher's largest batch (Inference:MaxBatchSize).", DefaultValueFactory = _ => 8 };
        var command = new Command("load-test", "Upload many images (some hostile) to a local Azurite and drive every event, delivered more than once, through the blob-trigger service; check exactly-once results.")
        {
            images, hostile, concurrency, duplicates, seconds, model, samples, seed, batch,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new LoadTestOptions(
                parse.GetValue(images),
                parse.GetValue(hostile),
                parse.GetValue(concurrency),
                parse.GetValue(duplicates),
                TimeSpan.FromSeconds(parse.GetValue(seconds)),
                parse.GetValue(model)?.FullName,
                parse.GetRequiredValue(samples).FullName,
                parse.GetValue(seed),
                parse.GetValue(batch));
            if (new LoadTestOptionsValidator().Validate(null, options) is { Failed: true } invalid)
            {
                foreach (var error in invalid.Failures)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync($"resnest-dev load-test: {error}").ConfigureAwait(false);
                }

                return 2;
            }

            var summary = await LoadTestRunner.RunAsync(options, parse.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
            await parse.InvocationConfiguration.Output.WriteLineAsync(CliJson.Serialize(summary, LoadTestJsonContext.Default.LoadTestSummary)).ConfigureAwait(false);
            return summary.Passed ? 0 : 1;
        });
        return command;
    }
}
