using Microsoft.ML.OnnxRuntime;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Tests.Onnx;

public sealed class ModelWriterTests : IDisposable
{
    private static readonly ResNeStVariant s_tiny = ResNeStVariant.Reduced([1, 1, 1, 1], stemWidth: 8, cropSize: 32);
    private readonly string _folder = Directory.CreateTempSubdirectory("resnest-writer-").FullName;

    [Fact]
    public void A_saved_model_loads_in_onnx_runtime_and_describes_its_contract()
    {
        var model = ResNeStOnnxBuilder.Build(s_tiny, RandomWeights.Create(s_tiny, seed: 1), ModelCard.ForImageNet(s_tiny.Name, 32), ModelPrecision.Fp32);
        var path = Path.Combine(_folder, "nested", "model.onnx");

        long size = ModelWriter.Save(model, path);

        Assert.Equal(new FileInfo(path).Length, size);
        Assert.Equal(ModelWriter.ToBytes(model), File.ReadAllBytes(path));
        Assert.Equal(["model.onnx"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
        using (var session = new InferenceSession(path))
        {
            Assert.Equal(s_tiny.Name, session.ModelMetadata.CustomMetadataMap[ModelCard.Keys.Variant]);
        }

        var info = OnnxModelInfo.Read(path);
        Assert.Equal(8, info.IrVersion);
        Assert.Equal(17, info.Opsets["ai.onnx"]);
        Assert.Equal("input: float[N,3,32,32]", Assert.Single(info.Inputs).ToString());
        Assert.Equal("logits: float[N,1000]", Assert.Single(info.Outputs).ToString());
        Assert.Equal(s_tiny.Name, ModelCard.FromMetadata(info.Metadata).Variant);
        Assert.Equal(GraphFacts.FloatInitializerElements(model) + info.InitializerElements - GraphFacts.FloatInitializerElements(model), info.InitializerElements);
    }

    [Fact]
    public void Saving_over_an_existing_file_replaces_it_whole()
    {
        var path = Path.Combine(_folder, "model.onnx");
        File.WriteAllText(path, "old");
        var model = ResNeStOnnxBuilder.Build(s_tiny, RandomWeights.Create(s_tiny, seed: 2), ModelCard.ForImageNet(s_tiny.Name, 32), ModelPrecision.Fp16);

        ModelWriter.Save(model, path);
        using var stream = new MemoryStream();
        ModelWriter.Save(model, stream);

        Assert.Equal(stream.ToArray(), File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void Reading_a_file_that_is_not_onnx_fails_clearly()
    {
        var path = Path.Combine(_folder, "not-a-model.onnx");
        File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0x02]);

        var e = Assert.Throws<InvalidDataException>(() => OnnxModelInfo.Read(path));

        Assert.Contains("is not an ONNX model", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
