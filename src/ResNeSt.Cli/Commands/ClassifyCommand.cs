using System.CommandLine;
using ResNeSt.Inference.Batching;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Cli.Commands;

/// <summary><c>resnest classify</c>: one JSON line per image, in the order given; a bad file gives an error line and the run goes on.</summary>
internal static class ClassifyCommand
{
    public const int ExitOk = 0;
    public const int ExitSomeFailed = 1;
    public const int ExitModelUnusable = 2;

    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelOption();
        var recipe = new Option<string?>("--recipe") { Description = "Override the model card's preprocessing recipe: hub or paper." };
        recipe.AcceptOnlyFromAmong("hub", "paper");
        var crop = InferenceCommandSupport.CropOption();
        var top = InferenceCommandSupport.PositiveOption("--top", "How many ranked classes per image.", SoftmaxTopK.DefaultK, InferenceEngine.ClassCount);
        var logits = new Option<bool>("--logits") { Description = "Also print the 1000 raw logits." };
        var provider = InferenceCommandSupport.ProviderOption();
        var noExif = new Option<bool>("--no-exif-orientation") { Description = "Ignore the EXIF orientation tag (exact parity with PIL, which ignores it)." };
        var decode = InferenceCommandSupport.DecodeOption();
        var files = new Argument<FileInfo[]>("files") { Description = "Image files.", Arity = ArgumentArity.OneOrMore };

        var command = new Command("classify", "Classify image files with an ONNX model; prints one JSON object per image per line.")
        {
            model, recipe, crop, top, logits, provider, noExif, decode, files,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            new ClassifyArguments(
                parse.GetRequiredValue(model),
                parse.GetValue(recipe) is { } r ? Enum.Parse<PreprocessingRecipe>(r, ignoreCase: true) : null,
                parse.GetValue(crop),
                parse.GetValue(top),
                parse.GetValue(logits),
                InferenceCommandSupport.ParseProvider(parse.GetValue(provider)),
                !parse.GetValue(noExif),
                parse.GetRequiredValue(files),
                InferenceCommandSupport.ParseDecode(parse.GetValue(decode))),
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    internal sealed record ClassifyArguments(
        FileInfo Model, PreprocessingRecipe? Recipe, int? Crop, int Top, bool Logits, ExecutionProviderPreference Provider, bool ApplyExif, IReadOnlyList<FileInfo> Files,
        DecodeMode Decode = DecodeMode.Fast);

    internal static async Task<int> RunAsync(ClassifyArguments args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var loggerFactory = InferenceCommandSupport.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("resnest.classify");
        var inference = new InferenceOptions
        {
            ExecutionProvider = args.Provider,
            MaxBatchSize = 8,
            MaxBatchDelay = TimeSpan.FromMilliseconds(2),
            // A handful of files should not tune every CUDA batch size first.
            WarmUp = false,
        };

        ResNeStClassifier classifier;
        try
        {
            classifier = ResNeStClassifier.Load(args.Model.FullName, inference, new ModelLoadOptions(args.Crop, args.Recipe),
                new ClassifierOptions(args.Top, args.ApplyExif, Decode: args.Decode), logger);
        }
        catch (Exception ex) when (ex is ModelContractException or ExecutionProviderUnavailableException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            await error.WriteLineAsync($"resnest classify: {ex.Message}");
            return ExitModelUnusable;
        }

        await using (classifier)
        {
            var request = new InferenceRequest(args.Top, args.Logits);
            // Files are read and decoded on several threads and batched; a bound on files in flight (two batches' worth)
            // keeps memory flat for long file lists. Lines are still printed in the order the files were given.
            using var inFlight = new SemaphoreSlim(2 * inference.MaxBatchSize);
            var lines = args.Files.Select(file => ClassifyFileAsync(classifier, file, request, inFlight, cancellationToken)).ToList();
            var failed = 0;
            foreach (var pending in lines)
            {
                var line = await pending;
                failed += line.Error is null ? 0 : 1;
                await output.WriteLineAsync(CliJson.Serialize(line, InferenceJsonContext.Default.ClassifyLine));
            }

            await output.FlushAsync(cancellationToken);
            return failed == 0 ? ExitOk : ExitSomeFailed;
        }
    }

    private static async Task<ClassifyLine> ClassifyFileAsync(ResNeStClassifier classifier, FileInfo file, InferenceRequest request, SemaphoreSlim inFlight, CancellationToken cancellationToken)
    {
        // Leave the caller's thread so that reading and decoding of different files proceed in parallel.
        await Task.Yield();
        await inFlight.WaitAsync(cancellationToken);
        try
        {
            return await ClassifyFileCoreAsync(classifier, file, request, cancellationToken);
        }
        finally
        {
            inFlight.Release();
        }
    }

    private static async Task<ClassifyLine> ClassifyFileCoreAsync(ResNeStClassifier classifier, FileInfo file, InferenceRequest request, CancellationToken cancellationToken)
    {
        var provider = classifier.ExecutionProvider;
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Failed(file, provider, "unreadable", ex.Message);
        }

        try
        {
            var result = await classifier.ClassifyAsync(bytes, request, cancellationToken);
            var c = result.Classification;
            return new ClassifyLine(
                file.ToString(),
                c.Predictions.Select(p => new PredictionJson(p.Index, p.Label, p.Probability)).ToArray(),
                provider,
                c.ModelVariant,
                new ImageJson(c.Image.Format, c.Image.Width, c.Image.Height),
                result.Logits,
                Error: null);
        }
        catch (ImageRejectedException ex)
        {
            return Failed(file, provider, ex.Code, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Failed(file, provider, "inference_failed", ex.Message);
        }
    }

    private static ClassifyLine Failed(FileInfo file, string provider, string code, string message) =>
        new(file.ToString(), null, provider, null, null, null, new ErrorJson(code, message));
}
