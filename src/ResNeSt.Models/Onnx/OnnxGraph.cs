using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace ResNeSt.Models.Onnx;

/// <summary>
/// Accumulates nodes and initializers of one ONNX graph. Tensor bytes go straight into <c>raw_data</c>
/// (one byte buffer per tensor, wrapped without a further copy) so that a 110 M-parameter model is written
/// without boxing or per-element protobuf fields.
/// </summary>
internal sealed class OnnxGraph(bool halfPrecision)
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>True when weights and activations are float16.</summary>
    public bool HalfPrecision { get; } = halfPrecision;

    /// <summary>The ONNX element type of weights and activations.</summary>
    public int ElementType => (int)(HalfPrecision ? TensorProto.Types.DataType.Float16 : TensorProto.Types.DataType.Float);

    /// <summary>Adds a weight tensor, converting to the graph's precision.</summary>
    public string AddWeights(string name, ReadOnlySpan<int> dims, ReadOnlySpan<float> values)
    {
        long count = 1;
        foreach (var d in dims)
        {
            count *= d;
        }

        if (count != values.Length)
        {
            throw new ArgumentException($"Tensor '{name}' has {values.Length} values for {count} elements.", nameof(values));
        }

        byte[] raw;
        if (HalfPrecision)
        {
            raw = new byte[values.Length * sizeof(short)];
            var half = MemoryMarshal.Cast<byte, Half>(raw.AsSpan());
            for (int i = 0; i < values.Length; i++)
            {
                half[i] = (Half)values[i];
            }
        }
        else
        {
            raw = MemoryMarshal.AsBytes(values).ToArray();
        }

        return AddRaw(name, dims, ElementType, raw);
    }

    /// <summary>Adds an int64 tensor (shapes and axes for Reshape and ReduceSum).</summary>
    public string AddInt64(string name, params long[] values)
    {
        var raw = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        return AddRaw(name, [values.Length], (int)TensorProto.Types.DataType.Int64, raw);
    }

    /// <summary>Adds a node with one output named after the node.</summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        Claim(name);
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(name);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return name;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A tensor value description; a <c>null</c> dimension is the symbolic batch dimension.</summary>
    public static ValueInfoProto Value(string name, int elementType, string batchDim, params long[] trailingDims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = batchDim });
        foreach (var d in trailingDims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elementType, Shape = shape } },
        };
    }

    private string AddRaw(string name, ReadOnlySpan<int> dims, int dataType, byte[] raw)
    {
        Claim(name);
        var tensor = new TensorProto { Name = name, DataType = dataType, RawData = UnsafeByteOperations.UnsafeWrap(raw) };
        foreach (var d in dims)
        {
            tensor.Dims.Add(d);
        }

        Graph.Initializer.Add(tensor);
        return name;
    }

    private void Claim(string name)
    {
        if (!_names.Add(name))
        {
            throw new InvalidOperationException($"Graph name '{name}' is used twice.");
        }
    }
}
