using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using ResNeSt.Inference.Tests.Imaging;
using ResNeSt.Models.Checkpoints;
using ResNeSt.TestSupport;
using Xunit.Abstractions;

namespace ResNeSt.Inference.Tests.Classification;

/// <summary>
/// The parity tests' weights are only as good as the .pth <see cref="ParityCheckpoint"/> writes from the committed
/// recipe: these hold what the checkpoint reader gets from that file to what the recipe says, value for value,
/// reading the recipe here on its own (not through <see cref="CheckpointRecipe"/>), so a mistake in the expansion or in
/// the pickle writer does not cancel out.
/// </summary>
public sealed class ParityCheckpointTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string s_recipePath = Path.Combine(Fixtures.FixtureDir, "torch-parity", "reduced-seed5.recipe.json");

    // A cache of its own, so that the file read is the one this code writes, not one left by an earlier writer.
    private readonly string _cache = Path.Combine(Path.GetTempPath(), $"resnest-parity-test-{Guid.NewGuid():N}");

    [Fact]
    public async Task The_expanded_checkpoint_holds_every_value_the_recipe_says()
    {
        var clock = Stopwatch.StartNew();
        string path = await ParityCheckpoint.ExpandAsync(s_recipePath, _cache);
        output.WriteLine($"expanded into {new FileInfo(path).Length:N0} bytes in {clock.ElapsedMilliseconds} ms");
        clock.Restart();
        var checkpoint = await TorchCheckpoint.LoadAsync(path, ParityCheckpoint.Variant);
        output.WriteLine($"read back by TorchCheckpoint in {clock.ElapsedMilliseconds} ms");

        using var recipe = JsonDocument.Parse(await File.ReadAllBytesAsync(s_recipePath));
        byte[] blob = await File.ReadAllBytesAsync(Path.Combine(Path.GetDirectoryName(s_recipePath)!, recipe.RootElement.GetProperty("blob").GetString()!));
        var tensors = recipe.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(tensors.Select(t => t.GetProperty("key").GetString()).Order(), checkpoint.Weights.Tensors.Keys.Order());
        long values = 0, views = 0;
        foreach (var t in tensors)
        {
            var actual = checkpoint.Weights[t.GetProperty("key").GetString()!];
            int[] shape = t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            Assert.Equal(shape, actual.Shape);
            for (int i = 0; i < actual.Data.Length; i++)
            {
                float expected = Expected(t, shape, i, blob);
                if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(actual.Data[i]))
                {
                    Assert.Fail($"{actual.Key}[{i}]: the recipe says {expected:R}, the checkpoint holds {actual.Data[i]:R}");
                }
            }

            values += actual.Data.Length;
            views += t.TryGetProperty("view", out _) ? 1 : 0;
        }

        output.WriteLine($"{tensors.Count} tensors ({views} strided views of the base), {values:N0} values compared");
        Assert.True(views > 30 && values > 10_000_000, "the recipe no longer describes the parity network's float16 weights");
    }

    [Fact]
    public async Task Concurrent_expansions_leave_one_complete_file()
    {
        var paths = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => ParityCheckpoint.ExpandAsync(s_recipePath, _cache))));

        Assert.Single(paths.Distinct());
        Assert.Equal([paths[0]], Directory.GetFiles(_cache));
        await TorchCheckpoint.LoadAsync(paths[0], ParityCheckpoint.Variant);
    }

    [Fact]
    public async Task A_blob_that_is_not_the_recipes_is_refused()
    {
        Directory.CreateDirectory(_cache);
        string json = Path.Combine(_cache, "copy.recipe.json");
        File.Copy(s_recipePath, json);
        byte[] blob = await File.ReadAllBytesAsync(Path.ChangeExtension(s_recipePath, ".bin"));
        blob[12345] ^= 1;
        await File.WriteAllBytesAsync(Path.Combine(_cache, "reduced-seed5.recipe.bin"), blob);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ParityCheckpoint.ExpandAsync(json, _cache));
        Assert.Contains("SHA-256 differs", ex.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_cache))
        {
            Directory.Delete(_cache, recursive: true);
        }
    }

    /// <summary>Element <paramref name="index"/> (row-major) of the recipe's tensor <paramref name="t"/>.</summary>
    private static float Expected(JsonElement t, int[] shape, int index, byte[] blob)
    {
        string dtype = t.GetProperty("dtype").GetString()!;
        if (t.TryGetProperty("view", out var view))
        {
            int[] strides = view.GetProperty("strides").EnumerateArray().Select(s => s.GetInt32()).ToArray();
            int element = view.GetProperty("offset").GetInt32();
            for (int axis = shape.Length - 1, rest = index; axis >= 0; rest /= shape[axis], axis--)
            {
                element += rest % shape[axis] * strides[axis];
            }

            Assert.Equal("float16", dtype);
            return (float)BinaryPrimitives.ReadHalfLittleEndian(blob.AsSpan(element * 2));
        }

        int start = t.GetProperty("bytes")[0].GetInt32();
        return dtype switch
        {
            "float32" => BinaryPrimitives.ReadSingleLittleEndian(blob.AsSpan(start + index * 4)),
            "int64" => BinaryPrimitives.ReadInt64LittleEndian(blob.AsSpan(start + index * 8)),
            _ => throw new InvalidDataException($"unexpected dtype {dtype}"),
        };
    }
}
