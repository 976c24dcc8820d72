using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Runtime;

/// <summary>
/// What a caller may say about a model beyond its own metadata. A crop size makes a model without our metadata
/// (e.g. straight from <c>torch.onnx.export</c>) usable with ImageNet defaults; on a model with metadata it overrides
/// the card's crop, as does a recipe.
/// </summary>
public sealed record ModelLoadOptions(int? CropSize = null, PreprocessingRecipe? Recipe = null)
{
    public static ModelLoadOptions None { get; } = new();
}
