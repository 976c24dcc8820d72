namespace ResNeSt.Models.Checkpoints;

/// <summary>Element types of the PyTorch storages a state_dict may hold (the legacy <c>torch.XxxStorage</c> classes).</summary>
internal enum StorageType
{
    Float32,
    Float16,
    Float64,
    Int64,
}

internal static class StorageTypes
{
    /// <summary>The pickled class names (module <c>torch</c>) and the element type each one stands for.</summary>
    public static IReadOnlyDictionary<string, StorageType> ByClassName { get; } = new Dictionary<string, StorageType>(StringComparer.Ordinal)
    {
        ["FloatStorage"] = StorageType.Float32,
        ["HalfStorage"] = StorageType.Float16,
        ["DoubleStorage"] = StorageType.Float64,
        ["LongStorage"] = StorageType.Int64,
    };

    public static int ElementSize(this StorageType type) => type switch
    {
        StorageType.Float32 => 4,
        StorageType.Float16 => 2,
        StorageType.Float64 => 8,
        StorageType.Int64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
