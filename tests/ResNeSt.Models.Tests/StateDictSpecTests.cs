using ResNeSt.Models.Architecture;

namespace ResNeSt.Models.Tests;

public sealed class StateDictSpecTests
{
    [Theory]
    [InlineData("resnest50", 27_483_240L, 476)]
    [InlineData("resnest101", 48_275_016L, 935)]
    [InlineData("resnest200", 70_201_544L, 1826)]
    [InlineData("resnest269", 110_929_480L, 2447)]
    public void Official_variants_have_the_official_parameter_count_and_state_dict_size(string name, long parameters, int entries)
    {
        var spec = StateDictSpec.For(ResNeStVariant.FromName(name));

        Assert.Equal(parameters, spec.ParameterCount);
        Assert.Equal(entries, spec.Entries.Count);
        Assert.Equal(entries, spec.Entries.Select(e => e.Key).Distinct().Count());
    }

    [Fact]
    public void Split_attention_shapes_follow_the_official_definition()
    {
        var spec = StateDictSpec.For(ResNeStVariant.ResNeSt50);

        // layer1: group width 64, radix 2 → grouped 3x3 conv of 64 → 128 in 2 groups; inter = max(64*2/4, 32) = 32.
        Assert.Equal([128, 32, 3, 3], spec["layer1.0.conv2.conv.weight"].Shape);
        Assert.Equal([32, 64, 1, 1], spec["layer1.0.conv2.fc1.weight"].Shape);
        Assert.Equal([128, 32, 1, 1], spec["layer1.0.conv2.fc2.weight"].Shape);
        // layer4: group width 512 → inter 256; the deep stem of resnest50 is 32 wide, so layer1 starts from 64 channels.
        Assert.Equal([256, 512, 1, 1], spec["layer4.0.conv2.fc1.weight"].Shape);
        Assert.Equal([64, 64, 1, 1], spec["layer1.0.conv1.weight"].Shape);
        Assert.Equal([1000, 2048], spec["fc.weight"].Shape);
        Assert.False(spec.TryGet("layer1.1.downsample.1.weight", out _));
    }

    [Fact]
    public void Reduced_configurations_keep_the_block_types()
    {
        var variant = ResNeStVariant.Reduced([1, 1, 1, 1], stemWidth: 8, cropSize: 64);
        var spec = StateDictSpec.For(variant);

        Assert.Equal([8, 3, 3, 3], spec["conv1.0.weight"].Shape);
        Assert.True(spec.TryGet("layer4.0.conv2.fc2.bias", out _));
        Assert.True(spec.TryGet("layer2.0.downsample.1.weight", out _));
        Assert.Throws<ArgumentException>(() => ResNeStVariant.Reduced([1, 1, 1]));
    }
}
