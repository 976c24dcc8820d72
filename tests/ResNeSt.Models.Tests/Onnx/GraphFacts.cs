using Onnx;
using ResNeSt.Models.Architecture;

namespace ResNeSt.Models.Tests.Onnx;

/// <summary>Counts taken from a built graph and the expectations derived from the official state_dict layout.</summary>
internal static class GraphFacts
{
    /// <summary>Elements of all floating-point initializers (int64 Reshape shapes and axes excluded).</summary>
    public static long FloatInitializerElements(ModelProto model) =>
        model.Graph.Initializer
            .Where(t => t.DataType is (int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Float16)
            .Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d));

    /// <summary>
    /// What a folded graph must hold: the official parameters, minus each BatchNorm's γ and β (2·C), plus the
    /// C-element bias that folding gives every convolution that had none. Only <c>conv2.fc1</c> has a bias of its
    /// own, so its BatchNorm (<c>conv2.bn1</c>) removes 2·C and adds nothing; running statistics and
    /// <c>num_batches_tracked</c> are buffers, not parameters, and leave no trace.
    /// </summary>
    public static long ExpectedFoldedElements(StateDictSpec spec)
    {
        long expected = spec.ParameterCount;
        foreach (var entry in spec.Entries.Where(e => e.Key.EndsWith(".running_mean", StringComparison.Ordinal)))
        {
            long channels = entry.ElementCount;
            bool convHadBias = entry.Key.EndsWith(".conv2.bn1.running_mean", StringComparison.Ordinal);
            expected -= 2 * channels;
            if (!convHadBias)
            {
                expected += channels;
            }
        }

        return expected;
    }

    /// <summary>An unfolded graph holds every parameter and both running statistics of every BatchNorm.</summary>
    public static long ExpectedUnfoldedElements(StateDictSpec spec) =>
        spec.Entries.Where(e => e.Kind != StateEntryKind.BatchCounter).Sum(e => e.ElementCount);

    public static int CountNodes(ModelProto model, string opType) => model.Graph.Node.Count(n => n.OpType == opType);
}
