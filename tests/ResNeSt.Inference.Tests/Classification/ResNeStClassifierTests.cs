using ResNeSt.Inference.Batching;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;
using ResNeSt.Inference.Tests.Runtime;
using ResNeSt.Models.Metadata;
using ResNeSt.TestSupport;

namespace ResNeSt.Inference.Tests.Classification;

/// <summary>The facade with the real preprocessor, batcher and ORT session on the sample images.</summary>
public sealed class ResNeStClassifierTests
{
    private static readonly TinyModel s_model = TinyModel.WithCard(cropSize: 40);

    private static string SamplesDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var samples = Path.Combine(dir.FullName, "samples", "images");
            if (Directory.Exists(samples))
            {
                return samples;
            }
        }

        throw new DirectoryNotFoundException("samples/images not found above the test directory.");
    }

    private static ResNeStClassifier Classifier(int maxBatch = 4) => new(
        InferenceEngine.Load(s_model.Bytes, new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = 1, MaxBatchSize = maxBatch }),
        ownsEngine: true);

    [Fact]
    public async Task Classifies_each_concurrent_image_as_its_own_preprocessed_tensor_predicts()
    {
        await using var classifier = Classifier();
        var files = Directory.GetFiles(SamplesDirectory()).Order(StringComparer.Ordinal).ToArray();
        var images = files.Select(File.ReadAllBytes).ToArray();

        // Submit every image several times at once so that batches mix different images.
        var requests = Enumerable.Range(0, 12).Select(i => (Index: i % images.Length, Task: Task.Run(() => classifier.ClassifyAsync(images[i % images.Length], new InferenceRequest(TopK: 5, IncludeLogits: true))))).ToArray();
        await Task.WhenAll(requests.Select(r => r.Task));

        var spec = PreprocessingSpec.FromModelCard(classifier.Model);
        var preprocessor = new ImagePreprocessor(ImageLimits.Default);
        foreach (var (index, task) in requests)
        {
            var tensor = new float[spec.TensorLength];
            var info = preprocessor.Preprocess(images[index], tensor, spec);
            var expected = s_model.ExpectedLogits(tensor);
            var result = await task;
            InferenceEngineTests.AssertClose(expected, result.Logits, 1e-3f);

            var c = result.Classification;
            Assert.Equal(info, c.Image);
            var expectedTop = Enumerable.Range(0, 1000).OrderByDescending(i => result.Logits![i]).ThenBy(i => i).Take(5);
            Assert.Equal(expectedTop, c.Predictions.Select(p => p.Index));
            Assert.Equal(ModelCard.ImageNetClassNames[c.Top1.Index], c.Top1.Label);
            Assert.Equal(classifier.Engine.ModelSha256, c.ModelSha256);
            Assert.Equal("tiny-test", c.ModelVariant);
            Assert.Equal(InferenceEngine.CpuProviderName, c.ExecutionProvider);
            Assert.Equal(40, c.CropSize);
            Assert.InRange(c.Timings.BatchSize, 1, 4);
            Assert.True(c.Timings.DecodeAndPreprocessMs > 0);
        }
    }

    [Fact]
    public async Task A_bad_image_throws_the_rejection_unchanged_and_the_next_image_is_fine()
    {
        await using var classifier = Classifier();
        var ex = await Assert.ThrowsAsync<ImageRejectedException>(() => classifier.ClassifyAsync("plain text, not an image"u8.ToArray()));
        Assert.Equal(ImageRejectionReason.UnsupportedFormat, ex.Reason);
        var empty = await Assert.ThrowsAsync<ImageRejectedException>(() => classifier.ClassifyAsync(ReadOnlyMemory<byte>.Empty));
        Assert.Equal(ImageRejectionReason.Empty, empty.Reason);

        var image = await File.ReadAllBytesAsync(Directory.GetFiles(SamplesDirectory(), "*.jpg")[0]);
        var result = await classifier.ClassifyAsync(image);
        Assert.Equal(SoftmaxTopK.DefaultK, result.Predictions.Count);
    }
}
