using System.Globalization;
using System.Reflection;
using Onnx;
using ResNeSt.Models.Architecture;
using ResNeSt.Models.Metadata;
using ResNeSt.Models.Weights;

namespace ResNeSt.Models.Onnx;

/// <summary>
/// Builds the ONNX graph of a ResNeSt variant (shared/resnest/ARCHITECTURE.md) from its official <c>state_dict</c>.
/// Contract: input <c>input</c> float32 <c>[N,3,S,S]</c> (S = the card's crop), output <c>logits</c> float32
/// <c>[N,1000]</c>, opset 17, IR version 8, the model card in <c>metadata_props</c>.
/// </summary>
public static class ResNeStOnnxBuilder
{
    /// <summary>IR 8 is what opset 17 was released with; every runtime that runs opset 17 reads it.</summary>
    public const long IrVersion = 8;

    public const long OpsetVersion = 17;

    /// <summary>Name of the symbolic batch dimension of the input and output.</summary>
    public const string BatchDimension = "N";

    public const string ProducerName = "ResNeSt.Models";

    /// <summary>The version written into <c>producer_version</c>.</summary>
    public static string ProducerVersion { get; } =
        typeof(ResNeStOnnxBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ResNeStOnnxBuilder).Assembly.GetName().Version?.ToString()
        ?? "0";

    public static ModelProto Build(ResNeStVariant variant, StateDict weights, ModelCard card, ModelPrecision precision) =>
        Build(variant, weights, card, new OnnxBuildOptions { Precision = precision });

    public static ModelProto Build(ResNeStVariant variant, StateDict weights, ModelCard card, OnnxBuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(variant);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(options);
        if (!BitConverter.IsLittleEndian)
        {
            // ONNX raw_data is little-endian and the tensors are written by reinterpreting memory.
            throw new PlatformNotSupportedException("Writing ONNX tensors needs a little-endian machine.");
        }

        if (!string.Equals(card.Variant, variant.Name, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The model card describes '{card.Variant}' but the graph is '{variant.Name}'.", nameof(card));
        }

        if (card.ClassNames.Count != ResNeStVariant.NumClasses)
        {
            throw new ArgumentException($"The model card lists {card.ClassNames.Count} class names; the network has {ResNeStVariant.NumClasses} outputs.", nameof(card));
        }

        if (card.CropSize < 32)
        {
            throw new ArgumentException($"Crop size {card.CropSize} is too small: the network downsamples by 32.", nameof(card));
        }

        var spec = StateDictSpec.For(variant);
        Validate(spec, weights);

        var emitter = new ResNeStGraphEmitter(weights, options);
        var graph = emitter.Emit(variant, card.CropSize);
        graph.Name = variant.Name;

        var written = card with
        {
            Precision = options.Precision,
            SourceSha256 = card.SourceSha256 ?? weights.SourceSha256,
        };
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            ModelVersion = 1,
            DocString = string.Create(
                CultureInfo.InvariantCulture,
                $"{variant.Name} (ResNeSt, split-attention networks; radix {ResNeStVariant.Radix}) ImageNet classifier, {options.Precision.ToString().ToLowerInvariant()}, "
                + $"BatchNorm {(options.FoldBatchNorm ? "folded into convolutions" : "kept as nodes")}. "
                + $"Input '{ModelCard.InputName}' float32 [N,3,{card.CropSize},{card.CropSize}] normalised RGB; output '{ModelCard.OutputName}' float32 [N,{ResNeStVariant.NumClasses}] (no softmax)."),
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = OpsetVersion });
        foreach (var (key, value) in written.ToMetadata().OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return model;
    }

    private static void Validate(StateDictSpec spec, StateDict weights)
    {
        var problems = new List<string>();
        foreach (var entry in spec.Entries)
        {
            if (entry.Kind == StateEntryKind.BatchCounter)
            {
                continue; // num_batches_tracked plays no part at inference.
            }

            if (!weights.Tensors.TryGetValue(entry.Key, out var tensor))
            {
                problems.Add($"missing '{entry.Key}'");
            }
            else if (!tensor.Shape.SequenceEqual(entry.Shape) || tensor.Data.LongLength != entry.ElementCount)
            {
                problems.Add($"'{entry.Key}' has shape [{string.Join(',', tensor.Shape)}], expected [{string.Join(',', entry.Shape)}]");
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(
                $"The weights do not fit {spec.Variant.Name}: {string.Join("; ", problems.Take(5))}{(problems.Count > 5 ? $" (and {problems.Count - 5} more)" : string.Empty)}.",
                nameof(weights));
        }
    }
}
