using Microsoft.ML.OnnxRuntime;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Tests.Onnx;

public sealed class ResNeStOnnxBuilderTests
{
    private static readonly ResNeStVariant s_small = ResNeStVariant.Reduced([2, 2, 2, 1], stemWidth: 8, cropSize: 66);

    [Theory]
    [InlineData(new[] { 1, 1, 1, 1 }, 8, 32)]
    [InlineData(new[] { 2, 1, 3, 1 }, 16, 65)]
    [InlineData(new[] { 1, 2, 1, 2 }, 32, 97)]
    public void Reduced_configurations_build_and_run(int[] blocks, int stemWidth, int crop)
    {
        var variant = ResNeStVariant.Reduced(blocks, stemWidth, crop);
        var model = ResNeStOnnxBuilder.Build(variant, RandomWeights.Create(variant, seed: 3), ModelCard.ForImageNet(variant.Name, crop), ModelPrecision.Fp32);

        using var ort = new OrtRunner(model);
        var logits = ort.Run(OrtRunner.Images(3, crop, seed: 4), 3, crop);

        Assert.Equal(3, logits.Length);
        Assert.All(logits, row => Assert.All(row, v => Assert.True(float.IsFinite(v))));
        Assert.Equal(blocks.Sum(), GraphFacts.CountNodes(model, "Softmax"));
        Assert.Equal(GraphFacts.ExpectedFoldedElements(StateDictSpec.For(variant)), GraphFacts.FloatInitializerElements(model));
    }

    [Fact]
    public void Folding_batch_norm_gives_the_same_logits_as_the_unfolded_network()
    {
        var weights = RandomWeights.Create(s_small, seed: 5);
        var card = ModelCard.ForImageNet(s_small.Name, s_small.CropSize);
        var folded = ResNeStOnnxBuilder.Build(s_small, weights, card, new OnnxBuildOptions { FoldBatchNorm = true });
        var unfolded = ResNeStOnnxBuilder.Build(s_small, weights, card, new OnnxBuildOptions { FoldBatchNorm = false });
        var spec = StateDictSpec.For(s_small);
        int batchNorms = spec.Entries.Count(e => e.Kind == StateEntryKind.BatchCounter);

        Assert.Equal(0, GraphFacts.CountNodes(folded, "BatchNormalization"));
        Assert.Equal(batchNorms, GraphFacts.CountNodes(unfolded, "BatchNormalization"));
        Assert.Equal(GraphFacts.ExpectedUnfoldedElements(spec), GraphFacts.FloatInitializerElements(unfolded));

        // Smooth patterns keep the logits within ±10 or so, where 1e-4 is a test of the folding, not of float32.
        var images = OrtRunner.Patterns(3, s_small.CropSize, seed: 6);
        using var foldedRunner = new OrtRunner(folded);
        using var unfoldedRunner = new OrtRunner(unfolded);
        var expected = unfoldedRunner.Run(images, 3, s_small.CropSize);
        var actual = foldedRunner.Run(images, 3, s_small.CropSize);
        for (int n = 0; n < 3; n++)
        {
            Assert.InRange(OrtRunner.MaxAbsDifference(expected[n], actual[n]), 0, 1e-4f);
            Assert.InRange(OrtRunner.Spread(expected[n]), 0.3, 20); // a test of equality on sane, non-trivial logits
        }
    }

    [Fact]
    public void Unfolded_resnest50_holds_exactly_the_official_parameters_plus_running_statistics()
    {
        var variant = ResNeStVariant.ResNeSt50;
        var spec = StateDictSpec.For(variant);
        var weights = RandomWeights.Create(variant, seed: 7);
        var card = ModelCard.ForImageNet(variant.Name, variant.CropSize);

        var unfolded = ResNeStOnnxBuilder.Build(variant, weights, card, new OnnxBuildOptions { FoldBatchNorm = false });
        long runningStatistics = spec.Entries.Where(e => e.Kind == StateEntryKind.RunningStatistic).Sum(e => e.ElementCount);

        Assert.Equal(27_483_240L + runningStatistics, GraphFacts.FloatInitializerElements(unfolded));
    }

    [Fact]
    public void Fp16_model_keeps_a_float32_contract_and_agrees_with_fp32()
    {
        var weights = RandomWeights.Create(s_small, seed: 8);
        var card = ModelCard.ForImageNet(s_small.Name, s_small.CropSize);
        var fp32 = ResNeStOnnxBuilder.Build(s_small, weights, card, ModelPrecision.Fp32);
        var fp16 = ResNeStOnnxBuilder.Build(s_small, weights, card, ModelPrecision.Fp16);

        Assert.All(
            fp16.Graph.Initializer.Where(t => t.DataType != (int)global::Onnx.TensorProto.Types.DataType.Int64),
            t => Assert.Equal((int)global::Onnx.TensorProto.Types.DataType.Float16, t.DataType));
        Assert.Equal(2, GraphFacts.CountNodes(fp16, "Cast"));
        Assert.Equal(GraphFacts.FloatInitializerElements(fp32), GraphFacts.FloatInitializerElements(fp16));

        var images = OrtRunner.Images(3, s_small.CropSize, seed: 9);
        using var fp32Runner = new OrtRunner(fp32);
        using var fp16Runner = new OrtRunner(fp16);
        Assert.Equal(typeof(float), fp16Runner.Session.InputMetadata[ModelCard.InputName].ElementType);
        Assert.Equal(typeof(float), fp16Runner.Session.OutputMetadata[ModelCard.OutputName].ElementType);
        var expected = fp32Runner.Run(images, 3, s_small.CropSize);
        var actual = fp16Runner.Run(images, 3, s_small.CropSize);
        for (int n = 0; n < 3; n++)
        {
            Assert.Equal(OrtRunner.ArgMax(expected[n]), OrtRunner.ArgMax(actual[n]));
            // fp16 keeps ~3 significant digits; through a dozen layers 2 % of the logits' spread is ample and
            // still far below what a wrong graph would give.
            Assert.InRange(OrtRunner.MaxAbsDifference(expected[n], actual[n]), 0, 0.02 * OrtRunner.Spread(expected[n]));
        }
    }

    [Fact]
    public void Model_card_round_trips_through_onnx_runtime_metadata()
    {
        var weights = RandomWeights.Create(s_small, seed: 10);
        var card = ModelCard.ForImageNet(s_small.Name, s_small.CropSize, PreprocessingRecipe.Paper) with
        {
            SourceSha256 = new string('a', 64),
            WeightSource = "random(seed=10)",
        };
        var model = ResNeStOnnxBuilder.Build(s_small, weights, card, ModelPrecision.Fp16);

        using var session = new InferenceSession(ModelWriter.ToBytes(model));
        var metadata = session.ModelMetadata;
        var read = ModelCard.FromMetadata(metadata.CustomMetadataMap);

        Assert.Equal(card.Variant, read.Variant);
        Assert.Equal(card.CropSize, read.CropSize);
        Assert.Equal(card.ResizeSize, read.ResizeSize);
        Assert.Equal(card.Mean, read.Mean);
        Assert.Equal(card.Std, read.Std);
        Assert.Equal(PreprocessingRecipe.Paper, read.Recipe);
        Assert.Equal(ModelCard.ImageNetClassNames, read.ClassNames);
        Assert.Equal(ModelPrecision.Fp16, read.Precision); // the builder writes the precision it built
        Assert.Equal(card.SourceSha256, read.SourceSha256);
        Assert.Equal(card.WeightSource, read.WeightSource);
        Assert.Equal(ResNeStOnnxBuilder.ProducerName, metadata.ProducerName);
        Assert.Equal(s_small.Name, metadata.GraphName);
        Assert.Contains(s_small.Name, metadata.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void The_source_checkpoint_hash_comes_from_the_weights_when_the_card_has_none()
    {
        var random = RandomWeights.Create(s_small, seed: 11);
        var weights = new StateDict(random.Tensors, sourceSha256: new string('b', 64));

        var model = ResNeStOnnxBuilder.Build(s_small, weights, ModelCard.ForImageNet(s_small.Name, s_small.CropSize), ModelPrecision.Fp32);

        Assert.Equal(weights.SourceSha256, model.MetadataProps.Single(p => p.Key == ModelCard.Keys.SourceSha256).Value);
    }

    [Fact]
    public void Weights_that_do_not_fit_the_variant_are_rejected_by_name()
    {
        var weights = RandomWeights.Create(s_small, seed: 12);
        var card = ModelCard.ForImageNet(s_small.Name, s_small.CropSize);
        var missing = new StateDict(weights.Tensors.Where(p => p.Key != "layer2.0.conv2.fc1.bias").ToDictionary());
        var misshaped = new StateDict(weights.Tensors.ToDictionary(
            p => p.Key,
            p => p.Key == "fc.weight" ? new NamedTensor(p.Key, [1000, 7], new float[7000]) : p.Value));

        var e1 = Assert.Throws<ArgumentException>(() => ResNeStOnnxBuilder.Build(s_small, missing, card, ModelPrecision.Fp32));
        var e2 = Assert.Throws<ArgumentException>(() => ResNeStOnnxBuilder.Build(s_small, misshaped, card, ModelPrecision.Fp32));
        var e3 = Assert.Throws<ArgumentException>(() => ResNeStOnnxBuilder.Build(ResNeStVariant.ResNeSt50, weights, ModelCard.ForImageNet("resnest50", 224), ModelPrecision.Fp32));
        var e4 = Assert.Throws<ArgumentException>(() => ResNeStOnnxBuilder.Build(s_small, weights, ModelCard.ForImageNet("resnest50", 224), ModelPrecision.Fp32));

        Assert.Contains("missing 'layer2.0.conv2.fc1.bias'", e1.Message, StringComparison.Ordinal);
        Assert.Contains("'fc.weight' has shape [1000,7], expected [1000,2048]", e2.Message, StringComparison.Ordinal);
        Assert.Contains("more", e3.Message, StringComparison.Ordinal);
        Assert.Contains("describes 'resnest50'", e4.Message, StringComparison.Ordinal);
    }
}
