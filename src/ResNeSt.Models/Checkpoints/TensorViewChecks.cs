namespace ResNeSt.Models.Checkpoints;

/// <summary>
/// Refuses tensor views that a saved state_dict never holds, before any view is materialised: a stride of 0 (one
/// stored value repeated, <c>expand</c>), strides under which one view reads an element twice (<c>as_strided</c>), and
/// two tensors reading the same elements of one storage. What remains materialises at most one value per stored
/// element, and stored elements are bounded by the file; without this a 493-byte file asked for 1 GiB (stride 0), and
/// 277 KB of many views of one storage for 500 MiB.
/// </summary>
/// <remarks>
/// <c>torch.save(model.state_dict())</c> writes each parameter and buffer as a tensor of its own storage, or several
/// tensors of one shared storage (a flat parameter buffer) at disjoint offsets; both pass, whatever the strides of a
/// non-contiguous but non-overlapping tensor (a transpose, a slice with a step). Strides of dimensions of size 1 are
/// ignored (PyTorch gives them any value), and so are empty tensors. Two tensors of one storage must occupy disjoint
/// element ranges, from their first to their last element: interleaved views (the even and the odd elements) are
/// refused too, and so are tied weights saved twice, which no ResNeSt has.
/// </remarks>
internal static class TensorViewChecks
{
    public static void Check(IReadOnlyList<(string Key, TensorView View)> tensors)
    {
        var spans = new List<(string Storage, string Key, long First, long Last)>(tensors.Count);
        foreach (var (key, view) in tensors)
        {
            if (Span(key, view) is { } span)
            {
                spans.Add((view.Storage.Key, key, span.First, span.Last));
            }
        }

        foreach (var group in spans.GroupBy(s => s.Storage, StringComparer.Ordinal))
        {
            (string Storage, string Key, long First, long Last)? previous = null;
            foreach (var span in group.OrderBy(s => s.First).ThenBy(s => s.Last))
            {
                if (previous is { } p && span.First <= p.Last)
                {
                    throw new CheckpointException(
                        $"the checkpoint is malformed: tensors '{p.Key}' (elements {p.First}-{p.Last}) and '{span.Key}' (elements {span.First}-{span.Last}) " +
                        $"read the same elements of storage '{group.Key}'; the tensors of a saved state_dict never share elements.");
                }

                previous = span;
            }
        }
    }

    /// <summary>The first and last storage element <paramref name="view"/> reads; null for an empty tensor.</summary>
    private static (long First, long Last)? Span(string key, TensorView view)
    {
        var dimensions = new List<(int Size, long Stride)>(view.Shape.Length);
        for (int d = 0; d < view.Shape.Length; d++)
        {
            if (view.Shape[d] == 0)
            {
                return null;
            }

            if (view.Shape[d] > 1)
            {
                dimensions.Add((view.Shape[d], view.Strides[d]));
            }
        }

        // Smallest stride first: each stride must step past every element the smaller ones reach, or two indices
        // land on one element. A stride of 0 is the extreme case and gets its own words.
        Int128 extent = 1;
        foreach (var (size, stride) in dimensions.OrderBy(d => d.Stride))
        {
            if (stride == 0)
            {
                throw Refused(key, view, "has a stride of 0 (one stored value repeated, as torch's expand() makes)");
            }

            if (stride < extent)
            {
                throw Refused(key, view, "has overlapping strides (it reads some stored elements more than once)");
            }

            extent += (Int128)stride * (size - 1);
        }

        var last = view.Offset + extent - 1;
        if (last >= view.End)
        {
            throw new CheckpointException(
                $"the checkpoint is malformed: tensor '{key}' reaches element {last} of storage '{view.Storage.Key}', which has {view.End}.");
        }

        return (view.Offset, (long)last);
    }

    private static CheckpointException Refused(string key, TensorView view, string what) => new(
        $"the checkpoint is malformed: tensor '{key}' [{string.Join(", ", view.Shape)}] with stride [{string.Join(", ", view.Strides)}] {what}; " +
        "a saved state_dict never holds such a view.");
}
