using ResNeSt.Models.Checkpoints;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Onnx;
using ResNeSt.TestSupport;

namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>
/// The model the host serves in these tests: the weighted reduced ResNeSt (crop 64) whose PyTorch results for the
/// sample images are committed (tests/ResNeSt.Inference.Tests/fixtures/torch-parity), converted by the project's own
/// checkpoint reader (from the .pth <see cref="ParityCheckpoint"/> expands the committed recipe into) and ONNX builder.
/// So a result that comes back through the host can be held to PyTorch's.
/// </summary>
internal static class ParityModel
{
    private static readonly Lazy<Task<byte[]>> s_bytes = new(BuildAsync);

    public static string FixtureDirectory => Path.Combine(Repository.Root, "tests", "ResNeSt.Inference.Tests", "fixtures", "torch-parity");

    public static Task<byte[]> BytesAsync() => s_bytes.Value;

    private static async Task<byte[]> BuildAsync()
    {
        var variant = ParityCheckpoint.Variant;
        string weights = await ParityCheckpoint.ExpandAsync(Path.Combine(FixtureDirectory, "reduced-seed5.recipe.json"));
        var checkpoint = await TorchCheckpoint.LoadAsync(weights, variant);
        var card = ModelCard.ForImageNet(variant.Name, variant.CropSize) with { WeightSource = "torch-parity fixture (reduced-seed5.recipe.json)" };
        using var stream = new MemoryStream();
        ModelWriter.Save(ResNeStOnnxBuilder.Build(variant, checkpoint.Weights, card, new OnnxBuildOptions()), stream);
        return stream.ToArray();
    }
}
