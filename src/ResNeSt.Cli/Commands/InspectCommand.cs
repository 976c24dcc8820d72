using System.CommandLine;
using System.Globalization;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;

namespace ResNeSt.Cli.Commands;

/// <summary><c>resnest inspect</c>: prints what an ONNX file says about itself (no runtime needed).</summary>
internal static class InspectCommand
{
    private const int MaxValueLength = 100;

    public static Command Create()
    {
        var file = new Argument<FileInfo>("model") { Description = "The ONNX file to describe." };
        var command = new Command("inspect", "Print an ONNX model's I/O contract and metadata (the ResNeSt model card).") { file };
        command.SetAction((parseResult, cancellationToken) =>
            RunAsync(parseResult.GetRequiredValue(file), parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo file, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        OnnxModelInfo info;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            info = OnnxModelInfo.Read(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            await error.WriteLineAsync($"resnest inspect: {e.Message}");
            return 1;
        }

        var text = CultureInfo.InvariantCulture;
        await output.WriteLineAsync(string.Create(text, $"file      {file.FullName} ({file.Length / 1e6:F1} MB)"));
        await output.WriteLineAsync(string.Create(
            text,
            $"format    ONNX IR {info.IrVersion}, opsets {string.Join(", ", info.Opsets.Select(o => $"{o.Key} {o.Value}"))}, producer {info.ProducerName} {info.ProducerVersion}"));
        await output.WriteLineAsync(string.Create(text, $"graph     {info.NodeCount} nodes, {info.InitializerCount} initializers ({info.InitializerElements:N0} elements)"));
        foreach (var input in info.Inputs)
        {
            await output.WriteLineAsync($"input     {input}");
        }

        foreach (var result in info.Outputs)
        {
            await output.WriteLineAsync($"output    {result}");
        }

        if (info.DocString.Length > 0)
        {
            await output.WriteLineAsync($"doc       {info.DocString}");
        }

        await output.WriteLineAsync("metadata");
        int width = info.Metadata.Keys.DefaultIfEmpty(string.Empty).Max(k => k.Length);
        foreach (var (key, value) in info.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            await output.WriteLineAsync($"  {key.PadRight(width)}  {Summarise(key, value)}");
        }

        try
        {
            var card = ModelCard.FromMetadata(info.Metadata);
            await output.WriteLineAsync($"card      valid: {card.Variant}, {card.Precision.ToString().ToLowerInvariant()}, {card.Recipe.ToString().ToLowerInvariant()} recipe, crop {card.CropSize}, resize {card.ResizeSize}");
        }
        catch (InvalidModelCardException e)
        {
            await output.WriteLineAsync($"card      none: {e.Message}");
        }

        return 0;
    }

    private static string Summarise(string key, string value)
    {
        if (key == ModelCard.Keys.ClassNames)
        {
            var names = value.Split('\n');
            return names.Length <= 4
                ? string.Join(" | ", names)
                : $"{names.Length} names: {string.Join(" | ", names.Take(3))} | … | {names[^1]}";
        }

        var oneLine = value.ReplaceLineEndings(" ");
        return oneLine.Length <= MaxValueLength ? oneLine : $"{oneLine[..MaxValueLength]}… ({value.Length} characters)";
    }
}
