using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.Models.Weights;
using ResNeSt.Testing.Storage;

namespace ResNeSt.Cli.Tests.Infrastructure;

/// <summary>
/// What the CLI's storage commands run against: a private Azurite and a reduced ResNeSt (one block a stage, crop 64,
/// seeded random weights) written by the model builder into a scratch folder that goes away with it.
/// </summary>
internal sealed class AzuriteWithModel : IAsyncDisposable
{
    private AzuriteWithModel(Azurite azurite, string folder, string modelPath)
    {
        Azurite = azurite;
        Folder = folder;
        ModelPath = modelPath;
    }

    public Azurite Azurite { get; }

    public string ConnectionString => Azurite.ConnectionString;

    public string Folder { get; }

    public string ModelPath { get; }

    public static async Task<AzuriteWithModel> StartAsync(string folderPrefix, int seed)
    {
        var folder = Directory.CreateTempSubdirectory(folderPrefix).FullName;
        var variant = ResNeStVariant.Reduced([1, 1, 1, 1], stemWidth: 8, cropSize: 64);
        var modelPath = Path.Combine(folder, "reduced.onnx");
        var card = ModelCard.ForImageNet(variant.Name, variant.CropSize) with { WeightSource = $"random(seed={seed})" };
        ModelWriter.Save(ResNeStOnnxBuilder.Build(variant, RandomWeights.Create(variant, seed), card, ModelPrecision.Fp32), modelPath);
        return new AzuriteWithModel(await Azurite.StartAsync(), folder, modelPath);
    }

    public async ValueTask DisposeAsync()
    {
        await Azurite.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }
}
