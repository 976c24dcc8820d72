using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Tests.Onnx;

/// <summary>
/// The four official graphs, each built once with random weights at its own evaluation crop and run in
/// ONNX Runtime for N = 3 and N = 1. One class, so xunit runs them one after another (memory and 2 cores).
/// ResNeSt-269 runs at 224 instead of its 416 crop: at 416 this test alone took 85 s on the 2-core CI machine,
/// and the graph is the same for any crop except the spatial sizes (the crop only sets the input shape).
/// </summary>
public sealed class OfficialVariantGraphTests
{
    [Theory]
    [InlineData("resnest50", 224)]
    [InlineData("resnest101", 256)]
    [InlineData("resnest200", 320)]
    [InlineData("resnest269", 224)]
    public void Official_variant_builds_a_valid_graph_that_runs_for_any_batch_size(string name, int crop)
    {
        var variant = ResNeStVariant.FromName(name);
        var spec = StateDictSpec.For(variant);
        var model = ResNeStOnnxBuilder.Build(variant, RandomWeights.Create(variant, seed: 1), ModelCard.ForImageNet(name, crop), ModelPrecision.Fp32);

        Assert.Equal(ResNeStOnnxBuilder.IrVersion, model.IrVersion);
        Assert.Equal(ResNeStOnnxBuilder.OpsetVersion, Assert.Single(model.OpsetImport).Version);
        Assert.Equal(GraphFacts.ExpectedFoldedElements(spec), GraphFacts.FloatInitializerElements(model));
        Assert.Equal(0, GraphFacts.CountNodes(model, "BatchNormalization"));

        using var ort = new OrtRunner(model);
        var input = Assert.Single(ort.Session.InputMetadata);
        Assert.Equal(ModelCard.InputName, input.Key);
        Assert.Equal(typeof(float), input.Value.ElementType);
        Assert.Equal([-1, 3, crop, crop], input.Value.Dimensions);
        Assert.Equal(ResNeStOnnxBuilder.BatchDimension, input.Value.SymbolicDimensions[0]);
        var output = Assert.Single(ort.Session.OutputMetadata);
        Assert.Equal(ModelCard.OutputName, output.Key);
        Assert.Equal(typeof(float), output.Value.ElementType);
        Assert.Equal([-1, ResNeStVariant.NumClasses], output.Value.Dimensions);

        var images = OrtRunner.Images(3, crop, seed: 2);
        var batch = ort.Run(images, 3, crop);
        var single = ort.Run(images[..(3 * crop * crop)], 1, crop);

        // The random network is sane: finite, spread logits that depend on the image.
        foreach (var logits in batch)
        {
            Assert.All(logits, v => Assert.True(float.IsFinite(v)));
            Assert.InRange(OrtRunner.Spread(logits), 0.3, 20);
        }

        Assert.True(batch.Select(OrtRunner.ArgMax).Distinct().Count() > 1, "All three different images got the same top-1.");
        // An image's logits do not depend on what else is in the batch.
        Assert.InRange(OrtRunner.MaxAbsDifference(batch[0], single[0]), 0, 1e-3f);
    }
}
