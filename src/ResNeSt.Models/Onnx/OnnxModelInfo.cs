using Onnx;

namespace ResNeSt.Models.Onnx;

/// <summary>One graph input or output: name, element type and dimensions (symbolic ones by name).</summary>
public sealed record OnnxValueInfo(string Name, string ElementType, IReadOnlyList<string> Dimensions)
{
    public override string ToString() => $"{Name}: {ElementType}[{string.Join(',', Dimensions)}]";
}

/// <summary>What an ONNX file says about itself, read with the ONNX protobuf classes (no runtime needed).</summary>
public sealed record OnnxModelInfo(
    long IrVersion,
    IReadOnlyDictionary<string, long> Opsets,
    string ProducerName,
    string ProducerVersion,
    string DocString,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<OnnxValueInfo> Inputs,
    IReadOnlyList<OnnxValueInfo> Outputs,
    int NodeCount,
    int InitializerCount,
    long InitializerElements)
{
    /// <summary>Reads the model file; throws <see cref="InvalidDataException"/> when it is not an ONNX model.</summary>
    public static OnnxModelInfo Read(string path) => From(ReadModel(path));

    /// <summary>
    /// Parses an ONNX file; throws <see cref="InvalidDataException"/> with a message for a person (the protobuf
    /// parser's own wording, "invalid wire type" and the like, says nothing to someone who picked the wrong file).
    /// </summary>
    public static ModelProto ReadModel(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model: its bytes do not parse as one (truncated, or another kind of file).", e);
        }

        if (model.Graph is null || model.IrVersion == 0)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model: it has no graph or IR version.");
        }

        return model;
    }

    public static OnnxModelInfo From(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph ?? new GraphProto();
        var initializerNames = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return new OnnxModelInfo(
            model.IrVersion,
            model.OpsetImport.ToDictionary(o => o.Domain.Length == 0 ? "ai.onnx" : o.Domain, o => o.Version, StringComparer.Ordinal),
            model.ProducerName,
            model.ProducerVersion,
            model.DocString,
            model.MetadataProps.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            // Older exporters list initializers as inputs too; they are not part of the caller's contract.
            graph.Input.Where(i => !initializerNames.Contains(i.Name)).Select(Describe).ToList(),
            graph.Output.Select(Describe).ToList(),
            graph.Node.Count,
            graph.Initializer.Count,
            graph.Initializer.Sum(i => i.Dims.Aggregate(1L, (a, d) => a * d)));
    }

    internal static OnnxValueInfo Describe(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        if (tensor is null)
        {
            return new OnnxValueInfo(value.Name, "non-tensor", []);
        }

        var type = Enum.IsDefined(typeof(TensorProto.Types.DataType), tensor.ElemType)
            ? ((TensorProto.Types.DataType)tensor.ElemType).ToString().ToLowerInvariant()
            : $"type{tensor.ElemType}";
        var dims = tensor.Shape?.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => d.DimParam,
            _ => "?",
        }).ToList() ?? [];
        return new OnnxValueInfo(value.Name, type, dims);
    }
}
