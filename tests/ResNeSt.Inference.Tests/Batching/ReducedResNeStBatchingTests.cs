using ResNeSt.Inference.Batching;
using ResNeSt.Inference.Runtime;
using ResNeSt.Inference.Tests.Runtime;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;

namespace ResNeSt.Inference.Tests.Batching;

/// <summary>
/// The model builder's reduced random-weights ResNeSt (same block types as resnest50) through the engine and the batcher:
/// an image's logits must not depend on which batch, slot or batch size it ran in.
/// </summary>
public sealed class ReducedResNeStBatchingTests
{
    private static readonly ResNeStVariant s_variant = ResNeStVariant.Reduced([1, 1, 1, 1], stemWidth: 8, cropSize: 64);

    private static byte[] Build(ModelPrecision precision)
    {
        var card = ModelCard.ForImageNet(s_variant.Name, s_variant.CropSize) with { Precision = precision, WeightSource = "random(seed=3)" };
        return ModelWriter.ToBytes(ResNeStOnnxBuilder.Build(s_variant, RandomWeights.Create(s_variant, seed: 3), card, precision));
    }

    private static InferenceOptions Options(int maxBatch) => new()
    {
        ExecutionProvider = ExecutionProviderPreference.Cpu,
        IntraOpThreads = 1,
        MaxBatchSize = maxBatch,
        MaxBatchDelay = TimeSpan.FromSeconds(10),
    };

    private static void FillImage(Span<float> slot, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < slot.Length; i++)
        {
            slot[i] = (float)((random.NextDouble() * 4) - 2);
        }
    }

    [Theory]
    [InlineData(ModelPrecision.Fp32, 1e-4f)]
    [InlineData(ModelPrecision.Fp16, 2e-2f)]
    public async Task Batched_logits_equal_single_image_logits(ModelPrecision precision, float tolerance)
    {
        var bytes = Build(precision);
        float[][] single;
        using (var engine = InferenceEngine.Load(bytes, Options(maxBatch: 1)))
        {
            Assert.Equal(precision, engine.Card.Precision);
            using var batch = engine.CreateBatch();
            single = new float[4][];
            for (var i = 0; i < 4; i++)
            {
                FillImage(batch.Slot(0), seed: i);
                engine.Run(batch, 1);
                single[i] = batch.Logits(0).ToArray();
            }
        }

        using var batchedEngine = InferenceEngine.Load(bytes, Options(maxBatch: 4));
        await using var batcher = new InferenceBatcher(batchedEngine);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() => batcher.SubmitAsync(i,
            static (in int seed, Span<float> slot) => { FillImage(slot, seed); return seed; }, new InferenceRequest(IncludeLogits: true)))));

        Assert.Equal(1, batcher.Statistics.BatchSizes[4]);
        foreach (var result in results)
        {
            InferenceEngineTests.AssertClose(single[result.Written], result.Output.Logits, tolerance);
        }
    }
}
