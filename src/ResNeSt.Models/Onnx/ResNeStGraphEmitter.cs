using Onnx;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Onnx;

/// <summary>
/// Emits the ResNeSt network node by node. Node and initializer names follow the official <c>state_dict</c>
/// keys, so a graph can be read against the PyTorch module.
/// </summary>
internal sealed class ResNeStGraphEmitter(StateDict weights, OnnxBuildOptions options)
{
    private const int R = ResNeStVariant.Radix;

    private readonly OnnxGraph _graph = new(options.Precision == ModelPrecision.Fp16);
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);

    public GraphProto Emit(ResNeStVariant variant, int cropSize)
    {
        const int floatType = (int)TensorProto.Types.DataType.Float;
        var graph = _graph.Graph;
        graph.Input.Add(OnnxGraph.Value(ModelCard.InputName, floatType, ResNeStOnnxBuilder.BatchDimension, 3, cropSize, cropSize));
        graph.Output.Add(OnnxGraph.Value(ModelCard.OutputName, floatType, ResNeStOnnxBuilder.BatchDimension, ResNeStVariant.NumClasses));

        string x = ModelCard.InputName;
        if (_graph.HalfPrecision)
        {
            x = _graph.Node("Cast", "input.fp16", [x], OnnxGraph.Int("to", _graph.ElementType));
        }

        // Deep stem: three 3x3 convs (the first with stride 2), then a 3x3 max pool with stride 2.
        x = ConvBn(x, "conv1.0", "conv1.1", stride: 2, pad: 1, groups: 1, relu: true);
        x = ConvBn(x, "conv1.3", "conv1.4", stride: 1, pad: 1, groups: 1, relu: true);
        x = ConvBn(x, "conv1.6", "bn1", stride: 1, pad: 1, groups: 1, relu: true);
        x = _graph.Node("MaxPool", "maxpool", [x], Kernel(3), Strides(2), Pads(1));
        int size = OutputSize(OutputSize(cropSize, 3, 2, 1), 3, 2, 1);

        int totalBlocks = variant.BlocksPerStage.Sum();
        int done = 0;
        for (int stage = 0; stage < 4; stage++)
        {
            int planes = variant.Planes[stage];
            for (int block = 0; block < variant.BlocksPerStage[stage]; block++)
            {
                int stride = block == 0 ? ResNeStVariant.StageStrides[stage] : 1;
                (x, size) = Bottleneck($"layer{stage + 1}.{block}", x, planes, stride, hasDownsample: block == 0, size);
                options.Progress?.Report(new OnnxBuildProgress(++done, totalBlocks));
            }
        }

        x = _graph.Node("GlobalAveragePool", "avgpool", [x]);
        x = _graph.Node("Flatten", "flatten", [x], OnnxGraph.Int("axis", 1));
        var fcWeight = weights["fc.weight"];
        var fcBias = weights["fc.bias"];
        string[] fcInputs =
        [
            x,
            _graph.AddWeights("fc.weight", [.. fcWeight.Shape], fcWeight.Data),
            _graph.AddWeights("fc.bias", [.. fcBias.Shape], fcBias.Data),
        ];
        if (_graph.HalfPrecision)
        {
            x = _graph.Node("Gemm", "fc", fcInputs, OnnxGraph.Int("transB", 1));
            _graph.Node("Cast", ModelCard.OutputName, [x], OnnxGraph.Int("to", floatType));
        }
        else
        {
            _graph.Node("Gemm", ModelCard.OutputName, fcInputs, OnnxGraph.Int("transB", 1));
        }

        return graph;
    }

    /// <summary>One bottleneck block <c>layerN.i</c>; returns its output and spatial size.</summary>
    private (string Output, int Size) Bottleneck(string p, string input, int planes, int stride, bool hasDownsample, int size)
    {
        int groupWidth = planes * ResNeStVariant.BottleneckWidth / 64 * ResNeStVariant.Cardinality;

        var x = ConvBn(input, p + ".conv1", p + ".bn1", stride: 1, pad: 0, groups: 1, relu: true);
        x = SplitAttention(p + ".conv2", x, groupWidth, size);

        int outSize = size;
        if (stride > 1)
        {
            // avd: the block's stride is an average pool after the split-attention conv (which runs at stride 1).
            x = _graph.Node(
                "AveragePool", p + ".avd_layer", [x],
                Kernel(3), Strides(stride), Pads(1), OnnxGraph.Int("count_include_pad", 1));
            outSize = OutputSize(size, 3, stride, 1);
        }

        x = ConvBn(x, p + ".conv3", p + ".bn3", stride: 1, pad: 0, groups: 1, relu: false);

        var residual = input;
        if (hasDownsample)
        {
            if (stride > 1)
            {
                // avg_down: pool first (ceil mode, padding never counted), then a 1x1 conv at stride 1.
                residual = _graph.Node(
                    "AveragePool", p + ".downsample.0", [residual],
                    Kernel(stride), Strides(stride), OnnxGraph.Int("ceil_mode", 1), OnnxGraph.Int("count_include_pad", 0));
            }

            residual = ConvBn(residual, p + ".downsample.1", p + ".downsample.2", stride: 1, pad: 0, groups: 1, relu: false);
        }

        var sum = _graph.Node("Add", p + ".add", [x, residual]);
        return (_graph.Node("Relu", p + ".relu", [sum]), outSize);
    }

    /// <summary>
    /// Split-attention conv with radix 2 and cardinality 1. The radix splits are viewed as an extra axis
    /// (<c>[N,2,C,H,W]</c>) so that the split sum and the attention-weighted sum are one Mul and one ReduceSum
    /// instead of slices and adds; global pooling comes before the split sum because both are linear.
    /// </summary>
    private string SplitAttention(string p, string input, int channels, int size)
    {
        var radixAxis = Constant("axes.radix", 1);
        var pooledShape = Constant($"shape.radix.{channels}", 0, R, channels, 1, 1);
        var splitShape = Constant($"shape.radix.{channels}x{size}x{size}", 0, R, channels, size, size);

        var splits = ConvBn(input, p + ".conv", p + ".bn0", stride: 1, pad: 1, groups: R * ResNeStVariant.Cardinality, relu: true);

        var pooled = _graph.Node("GlobalAveragePool", p + ".gap", [splits]);
        pooled = _graph.Node("Reshape", p + ".gap.radix", [pooled, pooledShape]);
        pooled = _graph.Node("ReduceSum", p + ".gap.sum", [pooled, radixAxis], OnnxGraph.Int("keepdims", 0));

        var attention = ConvBn(pooled, p + ".fc1", p + ".bn1", stride: 1, pad: 0, groups: ResNeStVariant.Cardinality, relu: true, hasBias: true);
        attention = ConvBn(attention, p + ".fc2", bnKey: null, stride: 1, pad: 0, groups: ResNeStVariant.Cardinality, relu: false, hasBias: true);

        // rSoftMax: with cardinality 1 the (cardinality, radix) transpose is the identity, so channel r·C + c
        // is radix r of channel c and a softmax over the radix axis of [N,2,C,1,1] is the whole operation.
        attention = _graph.Node("Reshape", p + ".rsoftmax.radix", [attention, pooledShape]);
        attention = _graph.Node("Softmax", p + ".rsoftmax", [attention], OnnxGraph.Int("axis", 1));

        var radixSplits = _graph.Node("Reshape", p + ".radix", [splits, splitShape]);
        var weighted = _graph.Node("Mul", p + ".attend", [radixSplits, attention]);
        return _graph.Node("ReduceSum", p + ".attend.sum", [weighted, radixAxis], OnnxGraph.Int("keepdims", 0));
    }

    /// <summary>A conv (weights <c>{convKey}.weight</c>) followed by the BatchNorm <paramref name="bnKey"/> (folded or kept) and an optional ReLU.</summary>
    private string ConvBn(string input, string convKey, string? bnKey, int stride, int pad, int groups, bool relu, bool hasBias = false)
    {
        var weight = weights[convKey + ".weight"];
        var bias = hasBias ? weights[convKey + ".bias"] : null;
        int kernel = weight.Shape[2];
        int[] dims = [.. weight.Shape];
        AttributeProto[] attributes = [Kernel(kernel), Strides(stride), Pads(pad), OnnxGraph.Int("group", groups)];

        string output;
        if (bnKey is not null && options.FoldBatchNorm)
        {
            var (foldedWeight, foldedBias) = BatchNormFolding.Fold(
                weight.Data,
                bias is null ? [] : bias.Data,
                weights[bnKey + ".weight"].Data,
                weights[bnKey + ".bias"].Data,
                weights[bnKey + ".running_mean"].Data,
                weights[bnKey + ".running_var"].Data,
                ResNeStVariant.BatchNormEpsilon);
            string[] inputs =
            [
                input,
                _graph.AddWeights(convKey + ".weight", dims, foldedWeight),
                _graph.AddWeights(convKey + ".bias", [foldedBias.Length], foldedBias),
            ];
            output = _graph.Node("Conv", convKey, inputs, attributes);
        }
        else
        {
            var inputs = new List<string> { input, _graph.AddWeights(convKey + ".weight", dims, weight.Data) };
            if (bias is not null)
            {
                inputs.Add(_graph.AddWeights(convKey + ".bias", [.. bias.Shape], bias.Data));
            }

            output = _graph.Node("Conv", convKey, inputs, attributes);
            if (bnKey is not null)
            {
                string[] bnInputs =
                [
                    output,
                    Weights(bnKey + ".weight"),
                    Weights(bnKey + ".bias"),
                    Weights(bnKey + ".running_mean"),
                    Weights(bnKey + ".running_var"),
                ];
                output = _graph.Node("BatchNormalization", bnKey, bnInputs, OnnxGraph.Float("epsilon", ResNeStVariant.BatchNormEpsilon));
            }
        }

        return relu ? _graph.Node("Relu", (bnKey ?? convKey) + ".relu", [output]) : output;
    }

    private string Weights(string key)
    {
        var tensor = weights[key];
        return _graph.AddWeights(key, [.. tensor.Shape], tensor.Data);
    }

    private string Constant(string name, params long[] values)
    {
        if (!_constants.TryGetValue(name, out var existing))
        {
            existing = _graph.AddInt64(name, values);
            _constants[name] = existing;
        }

        return existing;
    }

    private static int OutputSize(int size, int kernel, int stride, int pad) => ((size + (2 * pad) - kernel) / stride) + 1;

    private static AttributeProto Kernel(int k) => OnnxGraph.Ints("kernel_shape", k, k);

    private static AttributeProto Strides(int s) => OnnxGraph.Ints("strides", s, s);

    private static AttributeProto Pads(int p) => OnnxGraph.Ints("pads", p, p, p, p);
}
