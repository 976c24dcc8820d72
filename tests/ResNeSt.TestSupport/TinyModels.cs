using Google.Protobuf;
using Onnx;
using ResNeSt.Models.Metadata;

namespace ResNeSt.TestSupport;

/// <summary>
/// Small ONNX models honouring (or deliberately breaking) the model contract, written with OnnxSharp:
/// GlobalAveragePool → Flatten → Gemm. With known weights a test can predict every image's logits exactly:
/// an image whose pixels are all <c>c</c> has logits <c>c·(W₀+W₁+W₂) + B</c>.
/// </summary>
public sealed class TinyModel
{
    public required byte[] Bytes { get; init; }
    public required float[] Weights { get; init; } // [3, classes] row-major
    public required float[] Bias { get; init; }

    /// <summary>The logits the model gives for an image filled with <paramref name="value"/>.</summary>
    public float[] ExpectedLogits(float value)
    {
        var classes = Bias.Length;
        var logits = new float[classes];
        for (var j = 0; j < classes; j++)
        {
            // Same order of operations as ORT's Gemm is not guaranteed; tests compare with a tolerance.
            logits[j] = (value * Weights[j]) + (value * Weights[classes + j]) + (value * Weights[(2 * classes) + j]) + Bias[j];
        }

        return logits;
    }

    /// <summary>The logits for a preprocessed NCHW image: per-channel means through the Gemm.</summary>
    public float[] ExpectedLogits(ReadOnlySpan<float> image)
    {
        var plane = image.Length / 3;
        Span<double> means = stackalloc double[3];
        for (var c = 0; c < 3; c++)
        {
            double sum = 0;
            foreach (var v in image.Slice(c * plane, plane))
            {
                sum += v;
            }

            means[c] = sum / plane;
        }

        var classes = Bias.Length;
        var logits = new float[classes];
        for (var j = 0; j < classes; j++)
        {
            logits[j] = (float)((means[0] * Weights[j]) + (means[1] * Weights[classes + j]) + (means[2] * Weights[(2 * classes) + j]) + Bias[j]);
        }

        return logits;
    }

    public static TinyModel Create(
        int cropSize = 32,
        string inputName = ModelCard.InputName,
        string outputName = ModelCard.OutputName,
        int classes = 1000,
        IReadOnlyDictionary<string, string>? metadata = null,
        long? fixedBatch = null,
        int seed = 1)
    {
        var random = new Random(seed);
        var weights = new float[3 * classes];
        var bias = new float[classes];
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = (float)((random.NextDouble() * 2) - 1);
        }

        for (var i = 0; i < bias.Length; i++)
        {
            bias[i] = (float)(random.NextDouble() - 0.5);
        }

        var graph = new GraphProto { Name = "tiny" };
        graph.Input.Add(TensorInfo(inputName, fixedBatch, 3, cropSize, cropSize));
        graph.Output.Add(TensorInfo(outputName, fixedBatch, classes));
        graph.Initializer.Add(FloatTensor("W", weights, 3, classes));
        graph.Initializer.Add(FloatTensor("B", bias, classes));
        graph.Node.Add(Node("GlobalAveragePool", [inputName], ["pooled"]));
        var flatten = Node("Flatten", ["pooled"], ["flat"]);
        flatten.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(flatten);
        graph.Node.Add(Node("Gemm", ["flat", "W", "B"], [outputName]));

        var model = new ModelProto
        {
            IrVersion = 10,
            ProducerName = "ResNeSt.Inference.Tests",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 17 });
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return new TinyModel { Bytes = model.ToByteArray(), Weights = weights, Bias = bias };
    }

    /// <summary>A card for a tiny model with the given crop.</summary>
    public static ModelCard Card(int cropSize = 32, PreprocessingRecipe recipe = PreprocessingRecipe.Hub) =>
        ModelCard.ForImageNet("tiny-test", cropSize, recipe) with { WeightSource = "random(seed=1)" };

    public static TinyModel WithCard(int cropSize = 32) => Create(cropSize, metadata: Card(cropSize).ToMetadata());

    private static NodeProto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = op + "_" + outputs[0] };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        return node;
    }

    private static ValueInfoProto TensorInfo(string name, long? batch, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(batch is { } b
            ? new TensorShapeProto.Types.Dimension { DimValue = b }
            : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static TensorProto FloatTensor(string name, float[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.Add(dims);
        tensor.FloatData.Add(values);
        return tensor;
    }
}
