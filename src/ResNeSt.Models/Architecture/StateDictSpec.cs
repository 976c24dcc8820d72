namespace ResNeSt.Models.Architecture;

/// <summary>What one entry of the official module's <c>state_dict</c> holds.</summary>
public enum StateEntryKind
{
    /// <summary>A trainable parameter (counted in the parameter count).</summary>
    Parameter,
    /// <summary>BatchNorm running mean or variance.</summary>
    RunningStatistic,
    /// <summary>BatchNorm <c>num_batches_tracked</c> (an int64 scalar, unused at inference).</summary>
    BatchCounter,
}

/// <summary>One expected <c>state_dict</c> entry: its official key, shape and kind.</summary>
public sealed record StateEntry(string Key, IReadOnlyList<int> Shape, StateEntryKind Kind)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>
/// The exact <c>state_dict</c> layout of the official ResNeSt module for a variant, in the official key order.
/// It is the contract between the checkpoint reader, the random-weight source and the graph builder.
/// </summary>
public sealed class StateDictSpec
{
    private readonly Dictionary<string, StateEntry> _byKey;

    private StateDictSpec(ResNeStVariant variant, List<StateEntry> entries)
    {
        Variant = variant;
        Entries = entries;
        _byKey = entries.ToDictionary(e => e.Key, StringComparer.Ordinal);
    }

    public ResNeStVariant Variant { get; }

    public IReadOnlyList<StateEntry> Entries { get; }

    /// <summary>Trainable parameters, as PyTorch's <c>sum(p.numel() for p in model.parameters())</c>.</summary>
    public long ParameterCount => Entries.Where(e => e.Kind == StateEntryKind.Parameter).Sum(e => e.ElementCount);

    public bool TryGet(string key, out StateEntry entry) => _byKey.TryGetValue(key, out entry!);

    public StateEntry this[string key] => _byKey[key];

    public static StateDictSpec For(ResNeStVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        var entries = new List<StateEntry>();

        void Conv(string key, int outC, int inC, int k) =>
            entries.Add(new(key + ".weight", [outC, inC, k, k], StateEntryKind.Parameter));

        void Bias(string key, int c) => entries.Add(new(key + ".bias", [c], StateEntryKind.Parameter));

        void BatchNorm(string key, int c)
        {
            entries.Add(new(key + ".weight", [c], StateEntryKind.Parameter));
            entries.Add(new(key + ".bias", [c], StateEntryKind.Parameter));
            entries.Add(new(key + ".running_mean", [c], StateEntryKind.RunningStatistic));
            entries.Add(new(key + ".running_var", [c], StateEntryKind.RunningStatistic));
            entries.Add(new(key + ".num_batches_tracked", [], StateEntryKind.BatchCounter));
        }

        int w = variant.StemWidth;
        Conv("conv1.0", w, 3, 3);
        BatchNorm("conv1.1", w);
        Conv("conv1.3", w, w, 3);
        BatchNorm("conv1.4", w);
        Conv("conv1.6", 2 * w, w, 3);
        BatchNorm("bn1", 2 * w);

        int inChannels = variant.StemOutputChannels;
        const int r = ResNeStVariant.Radix;
        for (int stage = 0; stage < 4; stage++)
        {
            int planes = variant.Planes[stage];
            int groupWidth = planes * ResNeStVariant.BottleneckWidth / 64 * ResNeStVariant.Cardinality;
            int outChannels = planes * ResNeStVariant.Expansion;
            int inter = ResNeStVariant.AttentionInterChannels(groupWidth);
            for (int block = 0; block < variant.BlocksPerStage[stage]; block++)
            {
                string p = $"layer{stage + 1}.{block}";
                Conv(p + ".conv1", groupWidth, inChannels, 1);
                BatchNorm(p + ".bn1", groupWidth);
                Conv(p + ".conv2.conv", groupWidth * r, groupWidth / (ResNeStVariant.Cardinality * r), 3);
                BatchNorm(p + ".conv2.bn0", groupWidth * r);
                Conv(p + ".conv2.fc1", inter, groupWidth / ResNeStVariant.Cardinality, 1);
                Bias(p + ".conv2.fc1", inter);
                BatchNorm(p + ".conv2.bn1", inter);
                Conv(p + ".conv2.fc2", groupWidth * r, inter / ResNeStVariant.Cardinality, 1);
                Bias(p + ".conv2.fc2", groupWidth * r);
                Conv(p + ".conv3", outChannels, groupWidth, 1);
                BatchNorm(p + ".bn3", outChannels);
                if (block == 0)
                {
                    // Every stage's first block changes the channel count, so it always has a downsample branch.
                    Conv(p + ".downsample.1", outChannels, inChannels, 1);
                    BatchNorm(p + ".downsample.2", outChannels);
                }

                inChannels = outChannels;
            }
        }

        entries.Add(new("fc.weight", [ResNeStVariant.NumClasses, inChannels], StateEntryKind.Parameter));
        entries.Add(new("fc.bias", [ResNeStVariant.NumClasses], StateEntryKind.Parameter));
        return new StateDictSpec(variant, entries);
    }
}
