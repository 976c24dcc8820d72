namespace ResNeSt.Models.Checkpoints;

/// <summary>
/// Bounds what a checkpoint's tensor views may materialise, before any is materialised. Without this a view of stride 0
/// (a 493-byte file asked for 1 GiB), a 46340×46340 view of one element (8.6 GB) or many views of one storage (277 KB
/// asked for 500 MiB) made the reader allocate far more than the file holds.
/// </summary>
/// <remarks>
/// PyTorch saves views as they are (a tensor and a slice of it share one storage; <c>expand</c> and <c>as_strided</c>
/// give stride 0 and overlapping strides) and loads them back, so the reader accepts them, as the fixtures made with
/// PyTorch require; what it refuses is a file whose views together read more than
/// <see cref="MaxReadsPerStoredElement"/> times what its storages hold, beyond a floor of
/// <see cref="FloorElements"/>. The product path (<see cref="TorchCheckpoint.LoadAsync"/>) also checks every name and
/// shape against the variant's spec first, which bounds it by the variant's own size.
/// </remarks>
internal static class TensorViewChecks
{
    /// <summary>How many float32 values each stored element may become, over all views.</summary>
    internal const long MaxReadsPerStoredElement = 4;

    /// <summary>What any checkpoint may materialise regardless (512 MiB of float32).</summary>
    internal const long FloorElements = 128L << 20;

    public static void Check(IReadOnlyList<(string Key, TensorView View)> tensors)
    {
        Int128 materialized = 0;
        long stored = 0;
        foreach (var storage in tensors.Select(t => t.View.Storage).DistinctBy(s => s.Key, StringComparer.Ordinal))
        {
            stored += storage.ElementCount;
        }

        long allowed = Math.Max(FloorElements, MaxReadsPerStoredElement * stored);
        foreach (var (key, view) in tensors)
        {
            Int128 count = 1;
            foreach (int d in view.Shape)
            {
                count *= Math.Max(d, 0);
            }

            materialized += count;
            if (materialized > allowed)
            {
                throw new CheckpointException(
                    $"the checkpoint is malformed: its tensors (up to '{key}', [{string.Join(", ", view.Shape)}] with stride [{string.Join(", ", view.Strides)}]) " +
                    $"would materialise {materialized} values from {stored} stored elements; at most {allowed} are accepted.");
            }
        }
    }
}
