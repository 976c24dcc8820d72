using System.Text.Json;

namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>The images the host tests upload: the repository's samples and the decoder fixtures (31 photos and oddities).</summary>
internal static class Samples
{
    public static string Directory => Path.Combine(Repository.Root, "samples", "images");

    public static string FixtureImages => Path.Combine(Repository.Root, "tests", "ResNeSt.Inference.Tests", "fixtures", "images");

    /// <summary>Every image the tests upload as "ordinary" uploads, by file name.</summary>
    public static IReadOnlyList<string> All { get; } =
        System.IO.Directory.GetFiles(Directory).Concat(System.IO.Directory.GetFiles(FixtureImages)).Order(StringComparer.Ordinal).ToList();

    /// <summary>PyTorch's ordered top-5 (torch.hub pipeline) for each sample, from the committed parity fixture.</summary>
    public static IReadOnlyDictionary<string, int[]> PyTorchTop5 { get; } = File.ReadLines(Path.Combine(ParityModel.FixtureDirectory, "reference.jsonl"))
        .Select(line => JsonDocument.Parse(line))
        .ToDictionary(
            d => d.RootElement.GetProperty("file").GetString()!,
            d => d.RootElement.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("index").GetInt32()).ToArray(),
            StringComparer.Ordinal);
}
