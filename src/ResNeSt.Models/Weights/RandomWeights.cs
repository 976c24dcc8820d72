using ResNeSt.Models.Architecture;

namespace ResNeSt.Models.Weights;

/// <summary>
/// Seeded random weights for any variant, for tests and benchmarks where no checkpoint is available.
/// The network they give is numerically sane through ResNeSt-269's depth:
/// <list type="bullet">
/// <item>convolutions are He-normal and, except the first, zero-mean per output filter: activations that
/// follow a ReLU are all positive, and a filter with a non-zero sum would turn that shared mean into a fixed
/// per-channel offset that swamps the input-dependent signal (every image would get the same top-1);</item>
/// <item>each BatchNorm's running variance is the variance its input is expected to have (tracked through
/// the network), so BN really normalises and nothing explodes or vanishes;</item>
/// <item>each residual branch's last BN is scaled by 1/√(blocks in the stage), so the residual stream grows by
/// a bounded amount per stage rather than per block;</item>
/// <item>the classifier's rows are zero-mean too and scaled for logits spread over a few units.</item>
/// </list>
/// Every statistic carries jitter, so BatchNorm folding is exercised with non-trivial values.
/// </summary>
public static class RandomWeights
{
    /// <summary>Standard deviation of the logits across classes that the classifier is scaled for.</summary>
    private const double TargetLogitSpread = 3.0;

    /// <summary>Variance of ReLU(z) for z ~ N(0, 1): ½ − 1/(2π).</summary>
    private const double ReluVariance = 0.5 - (1 / (2 * Math.PI));

    public static StateDict Create(ResNeStVariant variant, int seed)
    {
        ArgumentNullException.ThrowIfNull(variant);
        var spec = StateDictSpec.For(variant);
        var plan = Plan(variant);
        var tensors = new NamedTensor[spec.Entries.Count];
        // Each tensor has its own generator seeded from (seed, key), so the result is the same in parallel.
        Parallel.For(0, tensors.Length, i => tensors[i] = Generate(spec.Entries[i], seed, plan));
        return new StateDict(tensors.ToDictionary(t => t.Key, StringComparer.Ordinal));
    }

    /// <summary>Per BatchNorm: the scale of γ and the expected variance of its input; plus the classifier's weight scale.</summary>
    private sealed record InitPlan(Dictionary<string, (double GammaScale, double InputVariance)> BatchNorms, double ClassifierStd);

    private static InitPlan Plan(ResNeStVariant variant)
    {
        // A zero-mean He-normal conv doubles the variance of its input; after a unit-variance BN and a ReLU the
        // variance is ReluVariance. Pooling with stride averages correlated neighbours: taken as halving.
        const double heGain = 2;
        const double stridedPooling = 0.5;
        var bn = new Dictionary<string, (double, double)>(StringComparer.Ordinal)
        {
            ["conv1.1"] = (1, heGain), // normalised pixels: variance ≈ 1
            ["conv1.4"] = (1, heGain * ReluVariance),
            ["bn1"] = (1, heGain * ReluVariance),
        };

        double stream = ReluVariance; // variance of the residual stream, starting after the stem's max pool
        for (int stage = 0; stage < 4; stage++)
        {
            int blocks = variant.BlocksPerStage[stage];
            double branchGamma = 1 / Math.Sqrt(blocks);
            bool strided = ResNeStVariant.StageStrides[stage] > 1;
            for (int block = 0; block < blocks; block++)
            {
                string p = $"layer{stage + 1}.{block}";
                bn[p + ".bn1"] = (1, heGain * stream);
                bn[p + ".conv2.bn0"] = (1, heGain * ReluVariance);
                // The attention MLP sees globally pooled features; its scale hardly matters after the softmax.
                bn[p + ".conv2.bn1"] = (1, 1);
                // Two splits weighted about ½ each by the attention.
                double attended = ReluVariance / 2 * (block == 0 && strided ? stridedPooling : 1);
                bn[p + ".bn3"] = (branchGamma, heGain * attended);
                if (block == 0)
                {
                    bn[p + ".downsample.2"] = (1, heGain * stream * (strided ? stridedPooling : 1));
                    // The stream restarts from the downsample branch (unit variance) plus the residual branch.
                    stream = ReluVariance * (1 + (branchGamma * branchGamma));
                }
                else
                {
                    stream += branchGamma * branchGamma / 2;
                }
            }
        }

        int features = variant.Planes[^1] * ResNeStVariant.Expansion;
        return new InitPlan(bn, TargetLogitSpread / Math.Sqrt(features * stream));
    }

    private static NamedTensor Generate(StateEntry entry, int seed, InitPlan plan)
    {
        var data = new float[entry.ElementCount];
        var random = new SplitMix64(Mix(seed, entry.Key));
        var key = entry.Key;
        int lastDot = key.LastIndexOf('.');
        string module = key[..lastDot];
        string field = key[(lastDot + 1)..];

        if (plan.BatchNorms.TryGetValue(module, out var batchNorm))
        {
            var (gammaScale, variance) = batchNorm;
            switch (field)
            {
                case "weight":
                    FillUniform(data, ref random, 0.8 * gammaScale, 1.2 * gammaScale);
                    break;
                case "bias":
                    FillNormal(data, ref random, 0.05 * gammaScale);
                    break;
                case "running_mean":
                    FillNormal(data, ref random, 0.05 * Math.Sqrt(variance));
                    break;
                case "running_var":
                    FillUniform(data, ref random, 0.8 * variance, 1.25 * variance);
                    break;
                default:
                    break; // num_batches_tracked stays 0.
            }
        }
        else if (key == "fc.weight")
        {
            FillNormal(data, ref random, plan.ClassifierStd);
            CenterRows(data, entry.Shape[1]);
        }
        else if (field == "bias")
        {
            FillNormal(data, ref random, 0.1);
        }
        else if (entry.Shape.Count == 4)
        {
            // He-normal: std √(2 / fan_in), fan_in = input channels per group × kernel area.
            double fanIn = (double)entry.Shape[1] * entry.Shape[2] * entry.Shape[3];
            FillNormal(data, ref random, Math.Sqrt(2 / fanIn));
            if (key != "conv1.0.weight")
            {
                // The first conv sees zero-mean pixels; every later one sees post-ReLU (positive) activations.
                CenterRows(data, (int)fanIn);
            }
        }
        else
        {
            throw new InvalidOperationException($"No initialisation rule for '{key}'.");
        }

        return new NamedTensor(key, entry.Shape, data);
    }

    /// <summary>Makes every row (one output filter or class) sum to zero.</summary>
    private static void CenterRows(float[] data, int rowLength)
    {
        for (int start = 0; start < data.Length; start += rowLength)
        {
            var row = data.AsSpan(start, rowLength);
            double sum = 0;
            foreach (var v in row)
            {
                sum += v;
            }

            float mean = (float)(sum / rowLength);
            foreach (ref var v in row)
            {
                v -= mean;
            }
        }
    }

    private static void FillUniform(float[] data, ref SplitMix64 random, double low, double high)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)(low + ((high - low) * random.NextDouble()));
        }
    }

    private static void FillNormal(float[] data, ref SplitMix64 random, double std)
    {
        // Box–Muller: two normal samples per pair of uniforms.
        for (int i = 0; i < data.Length; i += 2)
        {
            double u1 = 1.0 - random.NextDouble(); // (0, 1]: log stays finite.
            double u2 = random.NextDouble();
            double radius = std * Math.Sqrt(-2.0 * Math.Log(u1));
            var (sin, cos) = Math.SinCos(2.0 * Math.PI * u2);
            data[i] = (float)(radius * cos);
            if (i + 1 < data.Length)
            {
                data[i + 1] = (float)(radius * sin);
            }
        }
    }

    /// <summary>FNV-1a of the key mixed with the seed: a stable per-tensor seed (string.GetHashCode is randomised per process).</summary>
    private static ulong Mix(int seed, string key)
    {
        ulong hash = 14695981039346656037UL ^ (ulong)(uint)seed;
        foreach (char c in key)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }

    /// <summary>SplitMix64: tiny, fast, and fully specified, so weights are identical across .NET versions.</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        public ulong Next()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
    }
}
