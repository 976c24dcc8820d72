namespace ResNeSt.TestSupport;

/// <summary>One entry of a hand-made state_dict pickle: a view of a storage of the zip (torch's pickled form).</summary>
/// <param name="StorageType">torch's storage class name: FloatStorage, HalfStorage, LongStorage, …</param>
/// <param name="StorageKey">The storage's record name in the zip (data/<c>StorageKey</c>).</param>
/// <param name="StorageSize">The storage's element count, as torch pickles it.</param>
/// <param name="Offset">First element of the view, in elements from the storage's start.</param>
public sealed record PickledTensor(
    string Key,
    string StorageType,
    string StorageKey,
    int StorageSize,
    IReadOnlyList<int> Shape,
    IReadOnlyList<int> Strides,
    int Offset);
