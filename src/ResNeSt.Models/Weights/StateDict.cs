namespace ResNeSt.Models.Weights;

/// <summary>One tensor of a <c>state_dict</c>, as float32 in row-major (C) order.</summary>
/// <remarks>int64 tensors (BatchNorm's <c>num_batches_tracked</c>) are carried as float; inference never reads them.</remarks>
public sealed record NamedTensor(string Key, IReadOnlyList<int> Shape, float[] Data)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>
/// A model's weights keyed by the official <c>state_dict</c> names, whatever their source
/// (a PyTorch checkpoint or seeded random initialisation).
/// </summary>
public sealed class StateDict(IReadOnlyDictionary<string, NamedTensor> tensors, string? sourceSha256 = null)
{
    public IReadOnlyDictionary<string, NamedTensor> Tensors { get; } = tensors ?? throw new ArgumentNullException(nameof(tensors));

    /// <summary>SHA-256 (lower-case hex) of the checkpoint file the weights came from; <c>null</c> for generated weights.</summary>
    public string? SourceSha256 { get; } = sourceSha256;

    public NamedTensor this[string key] => Tensors.TryGetValue(key, out var t)
        ? t
        : throw new KeyNotFoundException($"The state_dict has no tensor '{key}'.");
}
