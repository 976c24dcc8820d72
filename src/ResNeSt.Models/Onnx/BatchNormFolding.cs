namespace ResNeSt.Models.Onnx;

/// <summary>
/// Folds an inference-mode BatchNorm into the convolution before it:
/// <c>BN(conv(x) + b) = conv'(x) + b'</c> with <c>W' = W·s</c>, <c>b' = (b − μ)·s + β</c>, <c>s = γ / √(σ² + ε)</c>.
/// The arithmetic is done in double so that folding adds no error beyond the final rounding to float.
/// </summary>
internal static class BatchNormFolding
{
    /// <param name="weight">Conv weight, output channel first (<c>[out, …]</c>).</param>
    /// <param name="bias">Conv bias, or empty when the conv has none.</param>
    public static (float[] Weight, float[] Bias) Fold(
        ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias,
        ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> beta,
        ReadOnlySpan<float> runningMean,
        ReadOnlySpan<float> runningVar,
        double epsilon)
    {
        int channels = gamma.Length;
        if (beta.Length != channels || runningMean.Length != channels || runningVar.Length != channels
            || (!bias.IsEmpty && bias.Length != channels) || weight.Length % channels != 0)
        {
            throw new ArgumentException("BatchNorm parameters do not match the convolution's output channels.");
        }

        int perChannel = weight.Length / channels;
        var foldedWeight = new float[weight.Length];
        var foldedBias = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double scale = gamma[c] / Math.Sqrt(runningVar[c] + epsilon);
            double b = bias.IsEmpty ? 0.0 : bias[c];
            foldedBias[c] = (float)(((b - runningMean[c]) * scale) + beta[c]);
            var source = weight.Slice(c * perChannel, perChannel);
            var target = foldedWeight.AsSpan(c * perChannel, perChannel);
            for (int i = 0; i < perChannel; i++)
            {
                target[i] = (float)(source[i] * scale);
            }
        }

        return (foldedWeight, foldedBias);
    }
}
