using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Onnx;
using ResNeSt.Inference.Runtime;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;

namespace ResNeSt.Cli.Commands;

/// <summary>
/// <c>resnest annotate</c>: makes an ONNX classifier exported by another tool (PyTorch's <c>torch.onnx.export</c>)
/// loadable by the app. It checks the I/O contract in the graph, renames the input and output to <c>input</c> and
/// <c>logits</c>, writes the model card (variant, crop, resize, recipe, labels) into the metadata, and runs the result
/// once in ONNX Runtime before writing it, so a file it writes is one the app loads.
/// </summary>
internal static class AnnotateCommand
{
    private const int MaxSide = 4096;

    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "The ONNX file to annotate (read only; the result goes to -o).", HelpName = "MODEL.onnx" };
        model.AcceptExistingOnly();
        var variant = new Option<string>("--variant")
        {
            Description = $"The model's name in results and logs; an official one ({string.Join(", ", ResNeStVariant.Official.Select(v => v.Name))}) also gives the default crop.",
            HelpName = "NAME",
            Required = true,
        };
        variant.Validators.Add(r =>
        {
            var value = r.GetValueOrDefault<string>();
            if (string.IsNullOrWhiteSpace(value) || value.Length > 64 || value.Any(c => char.IsControl(c) || c == ','))
            {
                r.AddError("--variant must be 1 to 64 printable characters without commas.");
            }
        });
        var output = new Option<FileInfo>("--output", "-o") { Description = "The annotated ONNX file to write (may be MODEL itself; its folder must exist).", Required = true };
        var crop = new Option<int?>("--crop") { Description = "Input size S of [N,3,S,S] (default: the size the model fixes, else the official variant's crop)." };
        var resize = new Option<int?>("--resize") { Description = "Shorter-side resize before the centre crop (default: int(S / 0.875), 256 for 224)." };
        foreach (var side in new[] { crop, resize })
        {
            side.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<int?>() is { } n and (< 1 or > MaxSide))
                {
                    r.AddError($"{side.Name} must be between 1 and {MaxSide}, not {n}.");
                }
            });
        }

        var recipe = new Option<string>("--recipe")
        {
            Description = "Preprocessing: hub (resize + centre crop, the torch.hub page) or paper (the official evaluation).",
            HelpName = "hub|paper",
            DefaultValueFactory = _ => "hub",
        };
        recipe.AcceptOnlyFromAmong("hub", "paper");
        var labels = new Option<FileInfo>("--labels") { Description = "Class names, one per line in output order (1000 lines; default: the ImageNet classes)." };
        labels.AcceptExistingOnly();

        var command = new Command(
            "annotate",
            "Make a classifier exported by another tool (torch.onnx.export) loadable by the app: check its I/O "
            + "(one float input [N,3,S,S], one float output [N,1000]), rename them 'input' and 'logits', write the model card "
            + "(crop, resize, recipe, labels) into its metadata, and check that ONNX Runtime runs it.")
        {
            model, variant, output, crop, resize, recipe, labels,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            new AnnotateArguments(
                parse.GetRequiredValue(model),
                parse.GetRequiredValue(variant),
                parse.GetRequiredValue(output),
                parse.GetValue(crop),
                parse.GetValue(resize),
                parse.GetRequiredValue(recipe) == "paper" ? PreprocessingRecipe.Paper : PreprocessingRecipe.Hub,
                parse.GetValue(labels)),
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    internal sealed record AnnotateArguments(
        FileInfo Model, string Variant, FileInfo Output, int? Crop, int? Resize, PreprocessingRecipe Recipe, FileInfo? Labels);

    private static async Task<int> RunAsync(AnnotateArguments args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        const string name = "resnest annotate";
        if (args.Output.Directory is { Exists: false } folder)
        {
            await error.WriteLineAsync($"{name}: the folder of --output, '{folder.FullName}', does not exist; create it first.");
            return CommandLineConventions.ExitUsage;
        }

        try
        {
            var source = OnnxModelInfo.ReadModel(args.Model.FullName);
            var contract = ModelCardAnnotator.Inspect(source);
            var official = ResNeStVariant.Official.FirstOrDefault(v => v.Name == args.Variant);
            int? cropSize = args.Crop ?? contract.InputSide ?? official?.CropSize;
            if (cropSize is not { } crop)
            {
                await error.WriteLineAsync(
                    $"{name}: the model does not fix its input size and '{args.Variant}' is not an official variant; give the crop size with --crop N.");
                return CommandLineConventions.ExitUsage;
            }

            var resize = args.Resize ?? ModelCard.ConventionalResize(crop);
            if (resize < crop)
            {
                await error.WriteLineAsync($"{name}: --resize {resize} is smaller than the crop {crop}; the crop is taken from the resized image.");
                return CommandLineConventions.ExitUsage;
            }

            var classNames = args.Labels is null ? ModelCard.ImageNetClassNames : await ReadLabelsAsync(args.Labels, cancellationToken);
            var card = ModelCard.ForImageNet(args.Variant, crop, args.Recipe) with
            {
                ResizeSize = resize,
                ClassNames = classNames,
                Precision = contract.HasHalfPrecisionWeights ? ModelPrecision.Fp16 : ModelPrecision.Fp32,
                WeightSource = Producer(source),
            };
            var (annotated, info) = ModelCardAnnotator.Annotate(source, card);
            var bytes = ModelWriter.ToBytes(annotated);
            cancellationToken.ThrowIfCancellationRequested();
            VerifyRuns(bytes, card);

            long length = ModelWriter.Save(annotated, args.Output.FullName);
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (info.ReplacedCard)
            {
                await error.WriteLineAsync($"{name}: the model already had a model card; it was replaced.");
            }

            await output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{args.Output.FullName}: {card.Variant} {card.Precision.ToString().ToLowerInvariant()} [N,3,{crop},{crop}] resize {resize} {card.Recipe.ToString().ToLowerInvariant()}, "
                + $"input '{info.OriginalInput}' -> '{ModelCard.InputName}', output '{info.OriginalOutput}' -> '{ModelCard.OutputName}', "
                + $"{card.ClassNames.Count} labels, {length / 1e6:F1} MB, sha256 {sha256}"));
            return CommandLineConventions.ExitOk;
        }
        catch (Exception e) when (e is OnnxContractException or ModelContractException or InvalidModelCardException or InvalidDataException)
        {
            await error.WriteLineAsync($"{name}: {e.Message}");
            return CommandLineConventions.ExitUsage;
        }
    }

    /// <summary>
    /// Loads the annotated bytes as the app does (contract, card, warm-up) on the CPU and classifies one synthetic
    /// image: a graph that declares the right shapes but cannot run, or produces other shapes or non-finite logits,
    /// is refused here rather than by the app at start-up.
    /// </summary>
    private static void VerifyRuns(byte[] model, ModelCard card)
    {
        using var engine = InferenceEngine.Load(model, new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, MaxBatchSize = 2, WarmUp = false });
        if (engine.Card.CropSize != card.CropSize)
        {
            throw new OnnxContractException($"ONNX Runtime sees an input of {engine.Card.CropSize}, the card says {card.CropSize}.");
        }

        using var batch = engine.CreateBatch();
        int images = Math.Min(2, engine.MaxBatchSize);
        for (int i = 0; i < images; i++)
        {
            var slot = batch.Slot(i);
            for (int j = 0; j < slot.Length; j++)
            {
                slot[j] = (float)Math.Sin((j * 0.01) + i);
            }
        }

        try
        {
            engine.Run(batch, images);
        }
        catch (Exception e) when (e is Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            throw new OnnxContractException($"ONNX Runtime cannot run the model on a [{images},3,{card.CropSize},{card.CropSize}] input: {e.Message.Split('\n')[0]}");
        }

        for (int i = 0; i < images; i++)
        {
            var logits = batch.Logits(i);
            if (logits.Length != card.ClassNames.Count || !AllFinite(logits))
            {
                throw new OnnxContractException($"The model's output for a test image is not {card.ClassNames.Count} finite logits.");
            }
        }
    }

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<IReadOnlyList<string>> ReadLabelsAsync(FileInfo file, CancellationToken cancellationToken)
    {
        var lines = (await File.ReadAllLinesAsync(file.FullName, cancellationToken)).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        if (lines.Count != ResNeStVariant.NumClasses || lines.Any(l => l.Length == 0))
        {
            throw new InvalidModelCardException(
                $"--labels '{file.FullName}' must hold {ResNeStVariant.NumClasses} non-empty lines, one class name each in output order; it has {lines.Count} lines ({lines.Count(l => l.Length == 0)} empty).");
        }

        return lines;
    }

    private static string Producer(ModelProto model) =>
        string.IsNullOrWhiteSpace(model.ProducerName) ? "onnx export" : $"{model.ProducerName} {model.ProducerVersion} export".Replace("  ", " ", StringComparison.Ordinal);
}
