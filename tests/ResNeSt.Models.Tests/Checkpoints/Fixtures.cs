using System.Text.Json;
using System.Text.Json.Serialization;
using ResNeSt.Models.Architecture;

namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>The committed PyTorch fixtures (see tools/make-checkpoint-fixtures.py).</summary>
internal static class Fixtures
{
    public static string PathOf(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    public static FeatureFixture Features { get; } = JsonSerializer.Deserialize(File.ReadAllText(PathOf("reader-features.json")), FixtureJson.Default.FeatureFixture)!;

    public static ReducedFixture Reduced { get; } = JsonSerializer.Deserialize(File.ReadAllText(PathOf("reduced.json")), FixtureJson.Default.ReducedFixture)!;

    /// <summary>The reduced configuration the fixture network was built with, as the C# model describes it.</summary>
    public static ResNeStVariant ReducedVariant { get; } =
        ResNeStVariant.Reduced(Reduced.BlocksPerStage, Reduced.StemWidth, Reduced.CropSize, Reduced.StagePlanes);

    public static float[] ReadFloat32(string name) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(PathOf(name))).ToArray();

    public static double[] ReadFloat64(string name) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(PathOf(name))).ToArray();
}

internal sealed record ExpectedTensor(int[] Shape, double[] Values);

internal sealed record FeatureFixture(Dictionary<string, ExpectedTensor> Tensors, string ZipSha256, string LegacySha256);

internal sealed record ReducedFixture(
    int[] BlocksPerStage,
    int StemWidth,
    int[] StagePlanes,
    int CropSize,
    int Batch,
    string Input,
    string Logits,
    string ZipCheckpoint,
    string LegacyCheckpoint,
    string ZipSha256,
    string LegacySha256,
    string TorchVersion);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(FeatureFixture))]
[JsonSerializable(typeof(ReducedFixture))]
internal sealed partial class FixtureJson : JsonSerializerContext;
