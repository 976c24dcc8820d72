using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using ResNeSt.Inference.Runtime;
using ResNeSt.Models.Metadata;
using ResNeSt.TestSupport;

namespace ResNeSt.Inference.Tests.Runtime;

public sealed class InferenceEngineTests
{
    private static InferenceOptions Cpu() => new() { ExecutionProvider = ExecutionProviderPreference.Cpu, IntraOpThreads = 1 };

    [Fact]
    public void Refuses_a_model_whose_input_is_not_named_input()
    {
        var model = TinyModel.Create(inputName: "images", metadata: TinyModel.Card().ToMetadata());
        var ex = Assert.Throws<ModelContractException>(() => InferenceEngine.Load(model.Bytes, Cpu()));
        Assert.Contains("'input'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'images'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_model_without_a_logits_output()
    {
        var model = TinyModel.Create(outputName: "output", metadata: TinyModel.Card().ToMetadata());
        var ex = Assert.Throws<ModelContractException>(() => InferenceEngine.Load(model.Bytes, Cpu()));
        Assert.Contains("'logits'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_model_with_the_wrong_number_of_classes()
    {
        var model = TinyModel.Create(classes: 10, metadata: TinyModel.Card().ToMetadata());
        var ex = Assert.Throws<ModelContractException>(() => InferenceEngine.Load(model.Bytes, Cpu()));
        Assert.Contains("[N,1000]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[N,10]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_model_without_metadata_unless_a_crop_is_given()
    {
        var model = TinyModel.Create(cropSize: 32);
        var ex = Assert.Throws<ModelContractException>(() => InferenceEngine.Load(model.Bytes, Cpu()));
        Assert.Contains("--crop", ex.Message, StringComparison.Ordinal);

        using var engine = InferenceEngine.Load(model.Bytes, Cpu(), new ModelLoadOptions(CropSize: 32));
        Assert.Equal(32, engine.Card.CropSize);
        Assert.Equal(ModelCard.ConventionalResize(32), engine.Card.ResizeSize);
        Assert.Equal(ModelCard.ImageNetMean, engine.Card.Mean);
        Assert.Equal(ModelCard.ImageNetClassNames, engine.Card.ClassNames);
        Assert.Equal(PreprocessingRecipe.Hub, engine.Card.Recipe);
    }

    [Fact]
    public void Refuses_a_crop_that_contradicts_the_input_shape()
    {
        var model = TinyModel.Create(cropSize: 32);
        var ex = Assert.Throws<ModelContractException>(() => InferenceEngine.Load(model.Bytes, Cpu(), new ModelLoadOptions(CropSize: 40)));
        Assert.Contains("32", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_broken_metadata_with_the_key_that_is_wrong()
    {
        var metadata = TinyModel.Card().ToMetadata().ToDictionary();
        metadata.Remove(ModelCard.Keys.Mean);
        var model = TinyModel.Create(metadata: metadata);
        var ex = Assert.Throws<ModelContractException>(() => InferenceEngine.Load(model.Bytes, Cpu()));
        Assert.Contains(ModelCard.Keys.Mean, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_bytes_that_are_not_a_model()
    {
        var ex = Assert.Throws<ModelContractException>(() => InferenceEngine.Load("not an onnx model"u8.ToArray(), Cpu()));
        Assert.Contains("cannot load", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reads_the_card_back_from_metadata_and_hashes_the_bytes_from_a_path_or_a_stream()
    {
        var card = TinyModel.Card(40, PreprocessingRecipe.Paper) with
        {
            Mean = [0.5f, 0.25f, 0.125f],
            Std = [0.2f, 0.3f, 0.4f],
            SourceSha256 = new string('a', 64),
        };
        var model = TinyModel.Create(cropSize: 40, metadata: card.ToMetadata());
        var path = Path.Combine(Path.GetTempPath(), $"tiny-{Guid.NewGuid():N}.onnx");
        await File.WriteAllBytesAsync(path, model.Bytes);
        try
        {
            using var fromPath = InferenceEngine.Load(path, Cpu());
            await using var stream = new MemoryStream(model.Bytes);
            using var fromStream = await InferenceEngine.LoadAsync(stream, Cpu());
            var expectedSha = Convert.ToHexStringLower(SHA256.HashData(model.Bytes));
            foreach (var engine in new[] { fromPath, fromStream })
            {
                Assert.Equal(expectedSha, engine.ModelSha256);
                Assert.Equal(card.Variant, engine.Card.Variant);
                Assert.Equal(40, engine.Card.CropSize);
                Assert.Equal(card.ResizeSize, engine.Card.ResizeSize);
                Assert.Equal(PreprocessingRecipe.Paper, engine.Card.Recipe);
                Assert.Equal(card.Mean, engine.Card.Mean);
                Assert.Equal(card.Std, engine.Card.Std);
                Assert.Equal(card.SourceSha256, engine.Card.SourceSha256);
                Assert.Equal(card.WeightSource, engine.Card.WeightSource);
                Assert.Equal(ModelCard.ImageNetClassNames, engine.Card.ClassNames);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_load_override_replaces_the_cards_recipe()
    {
        var model = TinyModel.WithCard();
        using var engine = InferenceEngine.Load(model.Bytes, Cpu(), new ModelLoadOptions(Recipe: PreprocessingRecipe.Paper));
        Assert.Equal(PreprocessingRecipe.Paper, engine.Card.Recipe);
    }

    [Fact]
    public void A_fixed_batch_dimension_limits_the_batch()
    {
        var model = TinyModel.Create(metadata: TinyModel.Card().ToMetadata(), fixedBatch: 1);
        using var engine = InferenceEngine.Load(model.Bytes, Cpu());
        Assert.Equal(1, engine.MaxBatchSize);
        Assert.Equal(1, engine.PaddedBatchSize(1));
    }

    [Fact]
    public void Runs_a_batch_in_place_and_gives_each_image_its_logits()
    {
        var model = TinyModel.WithCard();
        using var engine = InferenceEngine.Load(model.Bytes, Cpu());
        using var batch = engine.CreateBatch();
        float[] values = [0.5f, -1f, 2f];
        for (var i = 0; i < values.Length; i++)
        {
            batch.Slot(i).Fill(values[i]);
        }

        engine.Run(batch, values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            AssertClose(model.ExpectedLogits(values[i]), batch.Logits(i));
        }
    }

    [Fact]
    public void Auto_comes_up_on_the_provider_it_reports_and_explains_a_CPU_fallback_once()
    {
        var logger = new TestLogger();
        using var engine = InferenceEngine.Load(TinyModel.WithCard().Bytes, new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Auto }, logger: logger);
        var fallbacks = logger.Entries.Where(e => e.Id.Id == 3001).ToList();
        if (engine.ExecutionProvider == InferenceEngine.CpuProviderName)
        {
            // This machine has no CUDA: the engine must say so, once, with the reason.
            var fallback = Assert.Single(fallbacks);
            Assert.Contains("CUDA", fallback.Message, StringComparison.Ordinal);
            // Expected on a CPU machine with the provider on auto: one short line at Information, not ORT's 480 characters.
            Assert.Equal(LogLevel.Information, fallback.Level);
            Assert.True(fallback.Message.Length < 120, fallback.Message);
        }
        else
        {
            Assert.Equal(InferenceEngine.CudaProviderName, engine.ExecutionProvider);
            Assert.Empty(fallbacks);
        }
    }

    [Fact]
    public void A_missing_CUDA_library_is_reported_by_its_name()
    {
        const string native = "[ErrorCode:Fail] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 onnxruntime::Provider& "
            + "onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /app/runtimes/linux-x64/native/"
            + "libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory";
        Assert.Equal("libcublasLt.so.13 not found", InferenceEngine.ShortProviderFailure(native));
        Assert.True(InferenceEngine.ShortProviderFailure(new string('x', 400)).Length <= 120);
    }

    [Fact]
    public void Cuda_demanded_without_CUDA_fails_clearly_instead_of_running_on_CPU()
    {
        var options = new InferenceOptions { ExecutionProvider = ExecutionProviderPreference.Cuda };
        try
        {
            using var engine = InferenceEngine.Load(TinyModel.WithCard().Bytes, options);
            Assert.Equal(InferenceEngine.CudaProviderName, engine.ExecutionProvider); // only on a machine with a GPU
        }
        catch (ExecutionProviderUnavailableException ex)
        {
            Assert.Contains("CUDA", ex.Message, StringComparison.Ordinal);
            Assert.Contains("cuDNN", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0, 64, 32)]   // no batch at all
    [InlineData(16, 8, 32)]   // a queue smaller than a batch could never fill it
    [InlineData(64, 64, 32)]  // no padded size can hold a full batch
    public void Invalid_options_are_refused_at_start_up(int maxBatch, int queue, int largestPadded)
    {
        var options = new InferenceOptions { MaxBatchSize = maxBatch, QueueCapacity = queue, CudaPaddedBatchSizes = [1, largestPadded] };
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(options.Validate);
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => InferenceEngine.Load(TinyModel.WithCard().Bytes, options));
    }

    [Fact]
    public void Default_options_are_valid_and_pad_to_the_next_configured_size()
    {
        var options = new InferenceOptions();
        options.Validate();
        Assert.Equal(1, options.PaddedBatchSize(1));
        Assert.Equal(4, options.PaddedBatchSize(3));
        Assert.Equal(8, options.PaddedBatchSize(8));
        Assert.Equal(16, options.PaddedBatchSize(9));
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"logit {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
