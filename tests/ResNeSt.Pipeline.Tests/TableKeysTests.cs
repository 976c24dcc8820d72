using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Tagging;

namespace ResNeSt.Pipeline.Tests;

public sealed class TableKeysTests
{
    private static readonly char[] s_forbidden = ['/', '\\', '#', '?'];

    [Theory]
    [InlineData("cats/tabby.jpg")]
    [InlineData("a#b?c\\d/e")]
    [InlineData("line\nbreak\t\u0001\u007f\u0085.png")]
    [InlineData("100%~real.jpg")]
    [InlineData("ünïcødé/日本語.png")]
    public void Result_keys_never_hold_forbidden_characters(string name)
    {
        var (partition, row) = TableKeys.ForResult("images", name);
        Assert.Equal(2, partition.Length);
        Assert.True(partition.All(char.IsAsciiHexDigitLower));
        Assert.DoesNotContain(row, c => s_forbidden.Contains(c) || char.IsControl(c));
        Assert.True(row.Length <= TableKeys.MaxVerbatimKeyLength);
    }

    [Fact]
    public void Escaping_is_injective_for_names_that_differ_only_in_escaped_characters()
    {
        string[] names = ["a/b", "a%2Fb", "a\\b", "a%5Cb", "a~b", "a%7Eb", "~sha256~x", "a#b", "a?b"];
        var keys = names.Select(n => TableKeys.ForResult("images", n).RowKey).ToArray();
        Assert.Equal(keys.Length, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain(keys, k => k.StartsWith(TableKeys.HashedKeyPrefix, StringComparison.Ordinal));
    }

    [Fact]
    public void Names_too_long_for_a_key_are_keyed_by_their_hash()
    {
        var longName = new string('x', 1000) + "/" + new string('y', 23);
        var other = new string('x', 1000) + "/" + new string('z', 23);
        var (_, row) = TableKeys.ForResult("images", longName);
        Assert.StartsWith(TableKeys.HashedKeyPrefix, row, StringComparison.Ordinal);
        Assert.Equal(TableKeys.HashedKeyPrefix.Length + 64, row.Length);
        Assert.NotEqual(row, TableKeys.ForResult("images", other).RowKey);
        Assert.Equal(row, TableKeys.ForResult("images", longName).RowKey);
    }

    [Fact]
    public void Results_spread_over_many_partitions()
    {
        var partitions = Enumerable.Range(0, 2000).Select(i => TableKeys.ForResult("images", $"upload-{i}.jpg").PartitionKey).Distinct().Count();
        Assert.True(partitions > 200, $"only {partitions} partitions for 2000 blobs");
    }

    [Fact]
    public void Label_index_rows_sort_newest_first()
    {
        var older = TableKeys.ForLabelIndexRow(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), "aa", "x");
        var newer = TableKeys.ForLabelIndexRow(new DateTimeOffset(2024, 1, 1, 0, 0, 1, TimeSpan.Zero), "aa", "x");
        Assert.True(string.CompareOrdinal(newer, older) < 0);
    }

    [Theory]
    [InlineData("great white shark", "great white shark")]
    [InlineData("jack-o'-lantern", "jack-o_-lantern")]
    [InlineData("potter's wheel", "potter_s wheel")]
    [InlineData("Granny Smith", "Granny Smith")]
    [InlineData("yellow lady's slipper, yellow lady-slipper", "yellow lady_s slipper_ yellow lady-slipper")]
    public void Tag_values_keep_only_allowed_characters(string label, string expected) =>
        Assert.Equal(expected, BlobTagger.SanitizeValue(label));

    [Fact]
    public void Every_ImageNet_label_becomes_a_valid_tag_value()
    {
        foreach (var label in global::ResNeSt.Models.Metadata.ModelCard.ImageNetClassNames)
        {
            var value = BlobTagger.SanitizeValue(label);
            Assert.InRange(value.Length, 1, BlobTagger.MaxValueLength);
            Assert.All(value, c => Assert.True(BlobTagger.IsAllowed(c), $"'{c}' in '{value}'"));
        }
    }

    [Theory]
    [InlineData("x")]
    [InlineData("!!!!")]
    [InlineData("UGFydGl0aW9uT25seQ")]
    public void Continuation_tokens_not_issued_by_the_api_are_refused(string token) =>
        Assert.Throws<FormatException>(() => ContinuationTokenCodec.Decode(token));

    [Fact]
    public void Continuation_tokens_round_trip() =>
        Assert.Equal("pk rk", ContinuationTokenCodec.Decode(ContinuationTokenCodec.Encode("pk rk")));
}
