using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Checkpoints;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;

namespace ResNeSt.Cli.Commands;

/// <summary><c>resnest export</c>: builds a variant's ONNX model from a checkpoint or seeded random weights.</summary>
internal static class ExportCommand
{
    private const int MinCrop = 32;
    private const int MaxCrop = 1024;

    public static Command Create()
    {
        var variant = new Option<string>("--variant")
        {
            Description = "The torch.hub variant to build.",
            Required = true,
        };
        OneOf(variant, [.. ResNeStVariant.Official.Select(v => v.Name)]);
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "An official PyTorch checkpoint (state_dict, zip or legacy format)." };
        checkpoint.AcceptExistingOnly();
        var download = new Option<bool>("--download") { Description = "Download the official checkpoint (hash-checked) and convert it." };
        var randomWeights = new Option<bool>("--random-weights") { Description = "Seeded random weights that give a numerically sane network (tests, benchmarks)." };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed for --random-weights.",
            DefaultValueFactory = _ => 0,
        };
        var output = new Option<FileInfo>("--output", "-o")
        {
            Description = "The ONNX file to write (its folder must exist).",
            Required = true,
        };
        var precision = new Option<string>("--precision")
        {
            Description = "Weight and activation precision; input and output stay float32.",
            DefaultValueFactory = _ => "fp32",
        };
        OneOf(precision, "fp32", "fp16");
        var crop = new Option<int?>("--crop") { Description = "Input size S of [N,3,S,S] (default: the variant's evaluation crop)." };
        crop.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } s and (< MinCrop or > MaxCrop))
            {
                result.AddError($"--crop must be between {MinCrop} and {MaxCrop}, not {s}.");
            }
        });
        var recipe = new Option<string>("--recipe")
        {
            Description = "Preprocessing recipe recorded in the model: hub (resize + centre crop) or paper (the official evaluation).",
            DefaultValueFactory = _ => "hub",
        };
        OneOf(recipe, "hub", "paper");

        var command = new Command("export", "Build a ResNeSt ONNX model (input 'input' float32 [N,3,S,S], output 'logits' float32 [N,1000]).")
        {
            variant, checkpoint, download, randomWeights, seed, output, precision, crop, recipe,
        };
        command.Validators.Add(result =>
        {
            int sources = (result.GetResult(checkpoint) is null ? 0 : 1) + (result.GetValue(download) ? 1 : 0) + (result.GetValue(randomWeights) ? 1 : 0);
            if (sources != 1)
            {
                result.AddError("Choose exactly one weight source: --checkpoint FILE, --download or --random-weights.");
            }
            else if (result.GetResult(seed) is not null && !result.GetValue(randomWeights))
            {
                result.AddError("--seed only applies to --random-weights.");
            }
        });

        command.SetAction((parseResult, cancellationToken) =>
        {
            var request = new ExportRequest(
                ResNeStVariant.FromName(parseResult.GetRequiredValue(variant)),
                parseResult.GetValue(checkpoint),
                parseResult.GetValue(download),
                parseResult.GetValue(seed),
                parseResult.GetRequiredValue(output),
                parseResult.GetRequiredValue(precision) == "fp16" ? ModelPrecision.Fp16 : ModelPrecision.Fp32,
                parseResult.GetValue(crop),
                parseResult.GetRequiredValue(recipe) == "paper" ? PreprocessingRecipe.Paper : PreprocessingRecipe.Hub);
            return RunAsync(request, parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Restricts an option to fixed values with a one-line error (AcceptOnlyFromAmong lists them one per line).
    /// </summary>
    private static void OneOf(Option<string> option, params string[] values)
    {
        option.HelpName = string.Join('|', values);
        option.CompletionSources.Add(values);
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!values.Contains(value, StringComparer.Ordinal))
            {
                result.AddError($"{option.Name} '{value}' is not one of {string.Join(", ", values)}.");
            }
        });
    }

    private sealed record ExportRequest(
        ResNeStVariant Variant,
        FileInfo? Checkpoint,
        bool Download,
        int Seed,
        FileInfo Output,
        ModelPrecision Precision,
        int? Crop,
        PreprocessingRecipe Recipe)
    {
        public bool RandomWeights => Checkpoint is null && !Download;
    }

    private static async Task<int> RunAsync(ExportRequest request, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (request.Output.Directory is { Exists: false } folder)
        {
            // A typo in -o would otherwise create a tree of folders and leave the model somewhere unexpected.
            await error.WriteLineAsync($"resnest export: the folder of --output, '{folder.FullName}', does not exist; create it first.");
            return CommandLineConventions.ExitUsage;
        }

        var total = Stopwatch.StartNew();
        try
        {
            var variant = request.Variant;
            StateDict weights;
            string weightSource;
            if (request.RandomWeights)
            {
                var phase = Stopwatch.StartNew();
                weights = RandomWeights.Create(variant, request.Seed);
                weightSource = string.Create(CultureInfo.InvariantCulture, $"random(seed={request.Seed})");
                Report(error, $"random weights for {variant.Name} (seed {request.Seed})", phase);
            }
            else
            {
                (weights, weightSource) = await LoadCheckpointAsync(variant, request.Checkpoint, request.Download, error, cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var card = ModelCard.ForImageNet(variant.Name, request.Crop ?? variant.CropSize, request.Recipe) with { WeightSource = weightSource };
            var build = Stopwatch.StartNew();
            var model = ResNeStOnnxBuilder.Build(variant, weights, card, new OnnxBuildOptions
            {
                Precision = request.Precision,
                Progress = new BlockProgress(error, variant.Name),
            });
            Report(error, $"graph built: {model.Graph.Node.Count} nodes, {model.Graph.Initializer.Count} initializers", build);

            cancellationToken.ThrowIfCancellationRequested();
            var write = Stopwatch.StartNew();
            long bytes = ModelWriter.Save(model, request.Output.FullName);
            Report(error, $"wrote {request.Output.FullName}", write);

            string sha256 = await HashAsync(request.Output.FullName, cancellationToken);
            await output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{request.Output.FullName}: {variant.Name} {request.Precision.ToString().ToLowerInvariant()} [N,3,{card.CropSize},{card.CropSize}] {weightSource}, {bytes / 1e6:F1} MB, sha256 {sha256}, {total.Elapsed.TotalSeconds:F1} s"));
            return 0;
        }
        catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException or ArgumentException or InvalidDataException or NotSupportedException or InvalidOperationException)
        {
            await error.WriteLineAsync($"resnest export: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// The one place where checkpoint weights enter: <paramref name="checkpoint"/> is a local file, or
    /// <paramref name="download"/> fetches the official file (hash-checked) first.
    /// </summary>
    private static async Task<(StateDict Weights, string Source)> LoadCheckpointAsync(
        ResNeStVariant variant,
        FileInfo? checkpoint,
        bool download,
        TextWriter progress,
        CancellationToken cancellationToken)
    {
        string path;
        if (download)
        {
            using var downloader = new CheckpointDownloader(CheckpointDownloadOptions.FromEnvironment());
            path = await downloader.GetAsync(OfficialWeights.For(variant), new ByteProgress(progress, "downloaded"), cancellationToken);
        }
        else
        {
            path = checkpoint!.FullName;
        }

        var loaded = await TorchCheckpoint.LoadAsync(path, variant, new ByteProgress(progress, "converted"), cancellationToken);
        return (loaded.Weights, "checkpoint");
    }

    /// <summary>Prints byte progress every 10 %, synchronously so lines never interleave.</summary>
    private sealed class ByteProgress(TextWriter error, string verb) : IProgress<(long read, long? total)>
    {
        private int _lastTenth = -1;

        public void Report((long read, long? total) value)
        {
            if (value.total is not > 0)
            {
                return;
            }

            int tenth = (int)(value.read * 10 / value.total.Value);
            if (tenth > _lastTenth)
            {
                _lastTenth = tenth;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{verb} {value.read / 1e6:F1} / {value.total.Value / 1e6:F1} MB"));
            }
        }
    }

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }

    private static void Report(TextWriter error, string what, Stopwatch elapsed) =>
        error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what} ({elapsed.Elapsed.TotalSeconds:F1} s)"));

    /// <summary>Prints block progress every 25 %, synchronously (<see cref="Progress{T}"/> would post to the thread pool and interleave).</summary>
    private sealed class BlockProgress(TextWriter error, string variant) : IProgress<OnnxBuildProgress>
    {
        private int _lastQuarter;

        public void Report(OnnxBuildProgress value)
        {
            int quarter = value.Completed * 4 / value.Total;
            if (quarter > _lastQuarter)
            {
                _lastQuarter = quarter;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"building {variant}: {value.Completed}/{value.Total} blocks"));
            }
        }
    }
}
