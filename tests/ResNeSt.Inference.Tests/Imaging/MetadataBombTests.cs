using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using ResNeSt.Testing.Diagnostics;
using Xunit.Abstractions;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>
/// ImageSharp 2.1.13 inflates every compressed PNG metadata chunk while reading the header, outside its allocator limit:
/// a 1×1 PNG carrying 2 MB of zTXt cost 36 s and 3.65 GiB. The framing walk refuses such files before ImageSharp
/// reads them, and small compressed metadata is read as before.
/// </summary>
public sealed class MetadataBombTests(HostileCorpusFixture corpus, ITestOutputHelper output) : IClassFixture<HostileCorpusFixture>
{
    private static readonly PreprocessingSpec s_spec = new(PreprocessingRecipe.Hub, 32, 37, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    [Fact]
    public void A_png_whose_metadata_inflates_to_gigabytes_is_refused_before_the_decoder_inflates_it()
    {
        var bomb = corpus.Files.Single(f => f.Name.EndsWith("png-1x1-20-ztxt-of-100mib.png", StringComparison.Ordinal));
        var preprocessor = new ImagePreprocessor(ImageLimits.Default);
        using var memory = WorkingSetSampler.Start();
        var rejected = Assert.Throws<ImageRejectedException>(() => preprocessor.Preprocess(bomb.Content, new float[s_spec.TensorLength], s_spec));
        long growth = memory.Peak - memory.Baseline;
        output.WriteLine($"{bomb.Content.Length} bytes: {rejected.Code}, working set +{growth >> 20} MiB");
        Assert.Equal(ImageRejectionReason.MetadataTooLarge, rejected.Reason);
        Assert.True(growth < 256L << 20, $"the working set grew by {growth >> 20} MiB");
        Assert.Equal(ImageRejectionReason.MetadataTooLarge, Assert.Throws<ImageRejectedException>(() => ImagePreprocessor.Identify(bomb.Content, ImageLimits.Default)).Reason);
    }

    [Theory]
    [InlineData("png-1x1-ztxt-of-1gib.png")]
    [InlineData("png-1x1-20-itxt-of-100mib.png")]
    [InlineData("png-1x1-iccp-of-1gib.png")]
    [InlineData("png-1x1-iccp-after-idat-of-1gib.png")]
    [InlineData("png-1x1-8-ztxt-of-900kib.png")]
    [InlineData("png-1x1-5000-tiny-ztxt.png")]
    public void Every_metadata_bomb_is_refused_as_metadata_too_large(string name)
    {
        var bomb = corpus.Files.Single(f => f.Name.EndsWith(name, StringComparison.Ordinal));
        var rejected = Assert.Throws<ImageRejectedException>(() => ImagePreprocessor.Identify(bomb.Content, ImageLimits.Default));
        Assert.Equal("metadata_too_large", rejected.Code);
    }

    [Fact]
    public void Small_compressed_text_is_still_classified_and_the_limit_is_a_setting()
    {
        var file = corpus.Files.Single(f => f.Name.EndsWith("png-1x1-small-ztxt-and-itxt.png", StringComparison.Ordinal));
        new ImagePreprocessor(ImageLimits.Default).Preprocess(file.Content, new float[s_spec.TensorLength], s_spec);

        var strict = ImageLimits.Default with { MaxMetadataBytes = 100 };
        Assert.Equal(ImageRejectionReason.MetadataTooLarge, Assert.Throws<ImageRejectedException>(() => ImagePreprocessor.Identify(file.Content, strict)).Reason);
    }
}
