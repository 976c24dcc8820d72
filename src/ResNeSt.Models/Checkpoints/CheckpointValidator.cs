using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Checkpoints;

/// <summary>Checks a state_dict against a variant's <see cref="StateDictSpec"/> and recognises official variants.</summary>
public static partial class CheckpointValidator
{
    /// <summary>How many names of each kind of problem a message lists before it only counts.</summary>
    private const int NamesPerProblem = 5;

    /// <summary>Throws a <see cref="CheckpointException"/> naming every missing, unexpected and mis-shaped key.</summary>
    public static void Validate(StateDict weights, StateDictSpec spec)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Validate(Shapes(weights), spec);
    }

    /// <inheritdoc cref="Validate(StateDict, StateDictSpec)"/>
    public static void Validate(IReadOnlyDictionary<string, IReadOnlyList<int>> shapes, StateDictSpec spec)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        ArgumentNullException.ThrowIfNull(spec);

        var missing = spec.Entries.Where(e => !shapes.ContainsKey(e.Key)).Select(e => e.Key).ToList();
        var unexpected = shapes.Keys.Where(k => !spec.TryGet(k, out _)).Order(StringComparer.Ordinal).ToList();
        var misshapen = spec.Entries
            .Where(e => shapes.TryGetValue(e.Key, out var shape) && !shape.SequenceEqual(e.Shape))
            .Select(e => $"{e.Key} is {Format(shapes[e.Key])}, expected {Format(e.Shape)}")
            .ToList();
        if (missing.Count == 0 && unexpected.Count == 0 && misshapen.Count == 0)
        {
            return;
        }

        var message = new StringBuilder().Append(CultureInfo.InvariantCulture, $"The checkpoint does not match {spec.Variant.Name}:");
        Append(message, "missing key", "missing keys", missing);
        Append(message, "unexpected key", "unexpected keys", unexpected);
        Append(message, "key with the wrong shape", "keys with the wrong shape", misshapen);
        if (TryDetectVariant(shapes) is { } detected && detected != spec.Variant)
        {
            message.Append(CultureInfo.InvariantCulture, $" It looks like a {detected.Name} checkpoint: pass --variant {detected.Name}.");
        }

        throw new CheckpointException(message.ToString());
    }

    /// <summary>Recognises which official variant a state_dict belongs to, from its block counts and stem width.</summary>
    public static ResNeStVariant DetectVariant(StateDict weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return DetectVariant(Shapes(weights));
    }

    /// <inheritdoc cref="DetectVariant(StateDict)"/>
    public static ResNeStVariant DetectVariant(IReadOnlyDictionary<string, IReadOnlyList<int>> shapes)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        if (TryDetectVariant(shapes) is { } variant)
        {
            return variant;
        }

        var (blocks, stemWidth) = Describe(shapes);
        throw new CheckpointException(
            $"The checkpoint is not one of the official variants ({string.Join(", ", ResNeStVariant.Official.Select(v => v.Name))}): " +
            $"it has [{string.Join(", ", blocks)}] blocks per stage and stem width {(stemWidth is int w ? w.ToString(CultureInfo.InvariantCulture) : "unknown")}.");
    }

    private static ResNeStVariant? TryDetectVariant(IReadOnlyDictionary<string, IReadOnlyList<int>> shapes)
    {
        var (blocks, stemWidth) = Describe(shapes);
        return ResNeStVariant.Official.FirstOrDefault(v => v.StemWidth == stemWidth && v.BlocksPerStage.SequenceEqual(blocks));
    }

    private static (int[] Blocks, int? StemWidth) Describe(IReadOnlyDictionary<string, IReadOnlyList<int>> shapes)
    {
        var blocks = new int[4];
        foreach (string key in shapes.Keys)
        {
            if (BlockKey().Match(key) is { Success: true } match)
            {
                int stage = match.Groups[1].ValueSpan[0] - '1';
                int block = int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture);
                blocks[stage] = Math.Max(blocks[stage], block + 1);
            }
        }

        int? stemWidth = shapes.TryGetValue("conv1.0.weight", out var stem) && stem.Count == 4 ? stem[0] : null;
        return (blocks, stemWidth);
    }

    private static Dictionary<string, IReadOnlyList<int>> Shapes(StateDict weights) =>
        weights.Tensors.ToDictionary(t => t.Key, t => t.Value.Shape, StringComparer.Ordinal);

    private static void Append(StringBuilder message, string singular, string plural, List<string> items)
    {
        if (items.Count == 0)
        {
            return;
        }

        message.Append(CultureInfo.InvariantCulture, $" {items.Count} {(items.Count == 1 ? singular : plural)} (");
        message.AppendJoin(", ", items.Take(NamesPerProblem));
        if (items.Count > NamesPerProblem)
        {
            message.Append(CultureInfo.InvariantCulture, $", and {items.Count - NamesPerProblem} more");
        }

        message.Append(").");
    }

    private static string Format(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    [GeneratedRegex(@"^layer([1-4])\.(\d{1,4})\.")]
    private static partial Regex BlockKey();
}
