using ResNeSt.Models.Architecture;
using ResNeSt.Models.Checkpoints;

namespace ResNeSt.Models.Tests.Checkpoints;

public sealed class ValidationTests
{
    private static Dictionary<string, IReadOnlyList<int>> ShapesOf(ResNeStVariant variant) =>
        StateDictSpec.For(variant).Entries.ToDictionary(e => e.Key, e => e.Shape, StringComparer.Ordinal);

    [Theory]
    [InlineData("resnest50")]
    [InlineData("resnest101")]
    [InlineData("resnest200")]
    [InlineData("resnest269")]
    public void Each_official_variant_is_recognised_from_its_keys_and_validates(string name)
    {
        var variant = ResNeStVariant.FromName(name);
        var shapes = ShapesOf(variant);

        Assert.Equal(variant, CheckpointValidator.DetectVariant(shapes));
        CheckpointValidator.Validate(shapes, StateDictSpec.For(variant));
    }

    [Fact]
    public void Missing_unexpected_and_misshapen_keys_are_named_and_counted_in_one_message()
    {
        var shapes = ShapesOf(ResNeStVariant.ResNeSt50);
        shapes.Remove("fc.bias");
        shapes.Remove("layer2.3.conv2.fc1.weight");
        shapes["classifier.weight"] = [10, 2048];
        shapes["fc.weight"] = [10, 2048];
        shapes["conv1.0.weight"] = [32, 3, 5, 5];

        var error = Assert.Throws<CheckpointException>(() => CheckpointValidator.Validate(shapes, StateDictSpec.For(ResNeStVariant.ResNeSt50)));

        Assert.Equal(
            "The checkpoint does not match resnest50: 2 missing keys (layer2.3.conv2.fc1.weight, fc.bias). " +
            "1 unexpected key (classifier.weight). " +
            "2 keys with the wrong shape (conv1.0.weight is [32, 3, 5, 5], expected [32, 3, 3, 3], fc.weight is [10, 2048], expected [1000, 2048]).",
            error.Message);
    }

    [Fact]
    public void Long_lists_show_the_first_names_and_count_the_rest_and_a_recognised_variant_is_suggested()
    {
        var error = Assert.Throws<CheckpointException>(
            () => CheckpointValidator.Validate(ShapesOf(ResNeStVariant.ResNeSt101), StateDictSpec.For(ResNeStVariant.ResNeSt50)));

        // resnest101 has 17 more layer3 blocks than resnest50 and a 64-wide stem.
        Assert.Contains("unexpected keys (layer3.10.bn1.bias, ", error.Message, StringComparison.Ordinal);
        Assert.Contains("more)", error.Message, StringComparison.Ordinal);
        Assert.Contains("conv1.0.weight is [64, 3, 3, 3], expected [32, 3, 3, 3]", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("It looks like a resnest101 checkpoint: pass --variant resnest101.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void An_unrecognised_network_says_what_it_found()
    {
        var shapes = ShapesOf(ResNeStVariant.Reduced([1, 2, 1, 1], stemWidth: 8));

        var error = Assert.Throws<CheckpointException>(() => CheckpointValidator.DetectVariant(shapes));

        Assert.Contains("[1, 2, 1, 1] blocks per stage and stem width 8", error.Message, StringComparison.Ordinal);
    }
}
