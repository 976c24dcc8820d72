namespace ResNeSt.TestSupport;

/// <summary>One tensor of a <see cref="CheckpointRecipe"/>: either a strided view of the recipe's base storage
/// (<paramref name="ViewStrides"/> set) or <paramref name="ByteLength"/> bytes of its blob from <paramref name="ByteStart"/>.</summary>
/// <param name="DType">float16, float32, float64 or int64 (little-endian).</param>
public sealed record RecipeTensor(
    string Key,
    string DType,
    IReadOnlyList<int> Shape,
    int ViewOffset,
    IReadOnlyList<int>? ViewStrides,
    int ByteStart,
    int ByteLength)
{
    public int ElementCount => Shape.Aggregate(1, (a, d) => checked(a * d));
}
