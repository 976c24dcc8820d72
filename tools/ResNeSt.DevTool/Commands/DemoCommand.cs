using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Cli;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Storage;
using ResNeSt.Testing.Storage;

namespace ResNeSt.DevTool.Commands;

/// <summary>
/// <c>resnest-dev demo</c>: the whole pipeline on this machine with no Azure account. Starts a private Azurite, uploads the
/// sample images, runs each through the service the blob-trigger function runs, and prints what <c>GET /api/results</c>
/// returns. (<c>./demo.sh</c> first makes sure a model exists.)
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model file (./demo.sh makes one).", Required = true };
        model.AcceptExistingOnly();
        var images = new Option<DirectoryInfo>("--images") { Description = "Folder of images to upload (default: samples/images of the repository).", DefaultValueFactory = _ => new DirectoryInfo("samples/images") };
        var json = new Option<bool>("--json") { Description = "Print each result document as JSON, one per line, exactly as the HTTP API returns it, instead of the table (which goes to stderr)." };
        var command = new Command("demo", "Run the serverless pipeline locally on Azurite: upload sample images, classify them with the functions' services, print the results.")
        {
            model, images, json,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            parse.GetRequiredValue(model).FullName, parse.GetRequiredValue(images), parse.GetValue(json),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string model, DirectoryInfo images, bool json, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!images.Exists)
        {
            await error.WriteLineAsync(
                $"resnest-dev demo: there is no folder '{images.FullName}'; run it from the repository root (./demo.sh does) or give --images DIR.").ConfigureAwait(false);
            return CommandLineConventions.ExitUsage;
        }

        var files = images.GetFiles().Where(f => !f.Name.StartsWith('.')).OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
        {
            await error.WriteLineAsync($"resnest-dev demo: no images in '{images.FullName}'").ConfigureAwait(false);
            return 2;
        }

        await error.WriteLineAsync("Starting Azurite (in memory, loopback only)...").ConfigureAwait(false);
        await using var azurite = await Azurite.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await error.WriteLineAsync($"Loading {model}...").ConfigureAwait(false);
        using var host = await PipelineHost.StartAsync(
            new PipelineSettings { StorageConnection = azurite.ConnectionString, ModelPath = model, TaggingEnabled = true, MaxBatchSize = 8 },
            cancellationToken).ConfigureAwait(false);
        var storage = host.Services.GetRequiredService<PipelineStorage>();
        var pipeline = host.Services.GetRequiredService<ClassificationPipeline>();
        var results = host.Services.GetRequiredService<ResultStore>();

        foreach (var file in files)
        {
            await storage.Images.GetBlobClient($"samples/{file.Name}").UploadAsync(file.FullName, overwrite: true, cancellationToken).ConfigureAwait(false);
        }

        await error.WriteLineAsync($"Uploaded {files.Length} images to {storage.Images.Uri}; classifying as the blob trigger would...").ConfigureAwait(false);
        await Parallel.ForEachAsync(files, cancellationToken, async (file, ct) =>
            await pipeline.ProcessAsync(storage.Images.GetBlobClient($"samples/{file.Name}"), $"demo-{file.Name}", ct).ConfigureAwait(false))
            .ConfigureAwait(false);

        var documents = new List<ResultDocument>();
        foreach (var file in files)
        {
            var entity = await results.GetAsync(storage.Images.Name, $"samples/{file.Name}", cancellationToken).ConfigureAwait(false);
            documents.Add(ResultMapping.ToDocument(entity!));
        }

        // The table is for people; with --json, stdout is the documents alone, one per line, and the table is talk.
        await (json ? error : output).WriteLineAsync(FormatTable(documents)).ConfigureAwait(false);
        if (json)
        {
            foreach (var document in documents)
            {
                await output.WriteLineAsync(CliJson.Serialize(document, PipelineJsonContext.Default.ResultDocument)).ConfigureAwait(false);
            }
        }

        await host.StopAsync(cancellationToken).ConfigureAwait(false);
        return documents.All(d => d.Status == ResultStatus.Succeeded) ? 0 : 1;
    }

    private static readonly string[] s_header = ["blob", "status", "top-1", "p", "top-2", "p", "size", "inference ms", "batch"];

    /// <summary>GET /api/results/{blob} for each blob, one line each.</summary>
    public static string FormatTable(IReadOnlyList<ResultDocument> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var lines = new List<string[]> { s_header };
        foreach (var d in documents)
        {
            var p = d.Predictions ?? [];
            lines.Add(
            [
                d.Name,
                d.Status,
                d.Top1?.Label ?? d.Error?.Code ?? "",
                d.Top1 is null ? "" : d.Top1.Probability.ToString("0.000", CultureInfo.InvariantCulture),
                p.Count > 1 ? p[1].Label : "",
                p.Count > 1 ? p[1].Probability.ToString("0.000", CultureInfo.InvariantCulture) : "",
                d.Image is { Width: { } w, Height: { } h } ? FormattableString.Invariant($"{w}x{h}") : "",
                d.Timings?.InferenceMs is { } ms ? ms.ToString("0.0", CultureInfo.InvariantCulture) : "",
                d.Timings?.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "",
            ]);
        }

        var widths = Enumerable.Range(0, lines[0].Length).Select(c => lines.Max(l => l[c].Length)).ToArray();
        return string.Join(Environment.NewLine, lines.Select(l => string.Join("  ", l.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd()));
    }
}
