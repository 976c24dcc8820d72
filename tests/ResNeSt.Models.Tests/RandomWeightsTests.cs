using ResNeSt.Models.Architecture;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Tests;

public sealed class RandomWeightsTests
{
    private static readonly ResNeStVariant s_small = ResNeStVariant.Reduced([1, 2, 1, 1], stemWidth: 8);

    [Fact]
    public void Random_weights_fill_exactly_the_official_state_dict()
    {
        var spec = StateDictSpec.For(ResNeStVariant.ResNeSt50);
        var weights = RandomWeights.Create(ResNeStVariant.ResNeSt50, seed: 1);

        Assert.Equal(spec.Entries.Select(e => e.Key).Order(StringComparer.Ordinal), weights.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.All(spec.Entries, e =>
        {
            Assert.Equal(e.Shape, weights[e.Key].Shape);
            Assert.Equal(e.ElementCount, weights[e.Key].Data.LongLength);
        });
        Assert.Null(weights.SourceSha256);
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights_and_another_seed_different_ones()
    {
        var a = RandomWeights.Create(s_small, seed: 42);
        var b = RandomWeights.Create(s_small, seed: 42);
        var c = RandomWeights.Create(s_small, seed: 43);

        Assert.All(a.Tensors, p => Assert.Equal(p.Value.Data, b[p.Key].Data));
        Assert.NotEqual(a["layer3.0.conv2.conv.weight"].Data, c["layer3.0.conv2.conv.weight"].Data);
    }

    [Fact]
    public void Batch_norm_statistics_are_valid_and_not_trivial()
    {
        var weights = RandomWeights.Create(s_small, seed: 5);

        foreach (var (key, tensor) in weights.Tensors)
        {
            Assert.All(tensor.Data, v => Assert.True(float.IsFinite(v), key));
            if (key.EndsWith(".running_var", StringComparison.Ordinal))
            {
                Assert.All(tensor.Data, v => Assert.True(v > 0, key));
                Assert.True(tensor.Data.Distinct().Count() > 1, key);
            }
        }

        // He-normal: std √(2 / fan_in); layer2's 3x3 split-attention conv has fan_in 64 · 9.
        var conv = weights["layer2.0.conv2.conv.weight"].Data;
        double std = Math.Sqrt(conv.Average(v => (double)v * v));
        Assert.InRange(std, 0.9 * Math.Sqrt(2.0 / 576), 1.1 * Math.Sqrt(2.0 / 576));
    }
}
