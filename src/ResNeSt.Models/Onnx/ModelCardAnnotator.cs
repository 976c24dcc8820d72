using System.Globalization;
using Onnx;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Models.Onnx;

/// <summary>What <see cref="ModelCardAnnotator.Annotate"/> found and changed.</summary>
/// <param name="OriginalInput">The input's name before it was renamed to <see cref="ModelCard.InputName"/>.</param>
/// <param name="OriginalOutput">The output's name before it was renamed to <see cref="ModelCard.OutputName"/>.</param>
/// <param name="InputSide">The input's fixed side S, when the model fixes it.</param>
/// <param name="HasHalfPrecisionWeights">True when the graph holds float16 initializers (an fp16 export with float32 I/O).</param>
/// <param name="ReplacedCard">True when the file already carried <c>resnest.*</c> keys, which the new card replaced.</param>
public sealed record OnnxContractInfo(string OriginalInput, string OriginalOutput, int? InputSide, bool HasHalfPrecisionWeights, bool ReplacedCard);

/// <summary>
/// Turns an ONNX classifier exported by another tool (PyTorch's <c>torch.onnx.export</c>: inputs named <c>x</c> or
/// <c>input.1</c>, outputs named after a node number, no metadata) into a model the app loads: checks the I/O
/// contract in the graph, renames the input and output to <see cref="ModelCard.InputName"/> and
/// <see cref="ModelCard.OutputName"/>, and writes the model card into <c>metadata_props</c>. The graph is not changed
/// otherwise; whether it runs is for ONNX Runtime to confirm (the CLI does).
/// </summary>
public static class ModelCardAnnotator
{
    /// <summary>Checks the graph's declared I/O without changing anything; throws <see cref="OnnxContractException"/>.</summary>
    public static OnnxContractInfo Inspect(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph ?? throw new OnnxContractException("The file has no graph.");
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        // Older exporters list initializers as graph inputs too; they are weights, not the caller's input.
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        if (inputs.Count != 1)
        {
            throw new OnnxContractException(
                $"A classifier has exactly one input (images [N,3,S,S]); this model has {inputs.Count}: {string.Join(", ", inputs.Select(Describe))}.");
        }

        if (graph.Output.Count != 1)
        {
            throw new OnnxContractException(
                $"A classifier has exactly one output (logits [N,{ResNeStVariant.NumClasses}]); this model has {graph.Output.Count}: {string.Join(", ", graph.Output.Select(Describe))}.");
        }

        var input = inputs[0];
        var output = graph.Output[0];
        var inDims = FloatTensorDims(input, rank: 4, "input");
        var outDims = FloatTensorDims(output, rank: 2, "output");
        if (inDims[1] is { } channels && channels != 3)
        {
            throw new OnnxContractException($"The input must have 3 channels (NCHW RGB); it is {Describe(input)}.");
        }

        if (inDims[2] is { } h && inDims[3] is { } w && h != w)
        {
            throw new OnnxContractException($"The input must be square; it is {Describe(input)}.");
        }

        if (outDims[1] is { } classes && classes != ResNeStVariant.NumClasses)
        {
            throw new OnnxContractException($"The output must have {ResNeStVariant.NumClasses} classes (ImageNet logits); it is {Describe(output)}.");
        }

        bool half = graph.Initializer.Any(i => i.DataType == (int)TensorProto.Types.DataType.Float16);
        bool hasCard = model.MetadataProps.Any(p => p.Key.StartsWith("resnest.", StringComparison.Ordinal));
        return new OnnxContractInfo(input.Name, output.Name, inDims[2] ?? inDims[3], half, hasCard);
    }

    /// <summary>
    /// A copy of <paramref name="model"/> with the contract's I/O names and <paramref name="card"/> in its metadata
    /// (earlier <c>resnest.*</c> keys are replaced, other tools' keys kept). Throws <see cref="OnnxContractException"/>
    /// when the graph does not have the contract or the card's crop disagrees with a fixed input size.
    /// </summary>
    public static (ModelProto Model, OnnxContractInfo Info) Annotate(ModelProto model, ModelCard card)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(card);
        var info = Inspect(model);
        if (info.InputSide is { } side && side != card.CropSize)
        {
            throw new OnnxContractException($"The model's input is fixed at {side}×{side}, so the crop size must be {side}, not {card.CropSize}.");
        }

        if (card.ClassNames.Count != ResNeStVariant.NumClasses)
        {
            throw new OnnxContractException($"The card lists {card.ClassNames.Count} class names; the output has {ResNeStVariant.NumClasses}.");
        }

        var copy = model.Clone();
        RenameValue(copy.Graph, info.OriginalInput, ModelCard.InputName);
        RenameValue(copy.Graph, info.OriginalOutput, ModelCard.OutputName);
        var kept = copy.MetadataProps.Where(p => !p.Key.StartsWith("resnest.", StringComparison.Ordinal)).ToList();
        copy.MetadataProps.Clear();
        copy.MetadataProps.Add(kept);
        foreach (var (key, value) in card.ToMetadata())
        {
            copy.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return (copy, info);
    }

    /// <summary>
    /// Renames one value everywhere it is named (graph inputs/outputs, value infos, initializers, node inputs and
    /// outputs, subgraphs). If another value already has the new name (PyTorch names intermediates <c>input</c>,
    /// <c>input.4</c>, …), that value is moved to a fresh name first, so the graph stays well formed.
    /// </summary>
    private static void RenameValue(GraphProto graph, string from, string to)
    {
        if (from == to)
        {
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        CollectNames(graph, names);
        if (names.Contains(to))
        {
            string fresh;
            int n = 0;
            do
            {
                fresh = string.Create(CultureInfo.InvariantCulture, $"{to}.renamed{n++}");
            }
            while (names.Contains(fresh));

            Replace(graph, to, fresh);
        }

        Replace(graph, from, to);
    }

    private static void CollectNames(GraphProto graph, HashSet<string> names)
    {
        names.UnionWith(graph.Input.Select(v => v.Name));
        names.UnionWith(graph.Output.Select(v => v.Name));
        names.UnionWith(graph.ValueInfo.Select(v => v.Name));
        names.UnionWith(graph.Initializer.Select(t => t.Name));
        foreach (var node in graph.Node)
        {
            names.UnionWith(node.Input);
            names.UnionWith(node.Output);
            foreach (var subgraph in Subgraphs(node))
            {
                CollectNames(subgraph, names);
            }
        }
    }

    private static void Replace(GraphProto graph, string from, string to)
    {
        foreach (var value in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo).Where(v => v.Name == from))
        {
            value.Name = to;
        }

        foreach (var tensor in graph.Initializer.Where(t => t.Name == from))
        {
            tensor.Name = to;
        }

        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == from)
                {
                    node.Input[i] = to;
                }
            }

            for (int i = 0; i < node.Output.Count; i++)
            {
                if (node.Output[i] == from)
                {
                    node.Output[i] = to;
                }
            }

            // A subgraph (If, Loop, Scan) may refer to the outer value by name.
            foreach (var subgraph in Subgraphs(node))
            {
                Replace(subgraph, from, to);
            }
        }
    }

    private static IEnumerable<GraphProto> Subgraphs(NodeProto node) =>
        node.Attribute.SelectMany(a => a.G is null ? a.Graphs : a.Graphs.Prepend(a.G));

    /// <summary>The dimensions of a float32 tensor of the given rank; null where a dimension is symbolic.</summary>
    private static int?[] FloatTensorDims(ValueInfoProto value, int rank, string role)
    {
        var tensor = value.Type?.TensorType;
        if (tensor is null || tensor.ElemType != (int)TensorProto.Types.DataType.Float)
        {
            throw new OnnxContractException(
                $"The {role} must be a float32 tensor (an fp16 model keeps float32 inputs and outputs); it is {Describe(value)}.");
        }

        var dims = tensor.Shape?.Dim;
        if (dims is null || dims.Count != rank)
        {
            throw new OnnxContractException($"The {role} must have rank {rank}; it is {Describe(value)}.");
        }

        return dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0
            ? (int?)checked((int)d.DimValue)
            : null).ToArray();
    }

    private static string Describe(ValueInfoProto value) => OnnxModelInfo.Describe(value).ToString();
}
