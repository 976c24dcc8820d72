using ResNeSt.Models.Metadata;

namespace ResNeSt.Models.Onnx;

/// <summary>How <see cref="ResNeStOnnxBuilder"/> turns weights into a graph.</summary>
public sealed record OnnxBuildOptions
{
    /// <summary>Weight and activation precision; the graph's input and output stay float32 either way.</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Fp32;

    /// <summary>
    /// Fold every BatchNorm into the convolution before it (the default: fewer nodes, faster inference).
    /// <c>false</c> keeps explicit BatchNormalization nodes, which lets tests prove that folding changes nothing.
    /// </summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>Receives one report per block, so that long builds (ResNeSt-269) can show progress.</summary>
    public IProgress<OnnxBuildProgress>? Progress { get; init; }
}

/// <summary>Progress of a graph build: <paramref name="Completed"/> of <paramref name="Total"/> bottleneck blocks emitted.</summary>
public sealed record OnnxBuildProgress(int Completed, int Total);
