using System.Globalization;
using System.Reflection;

namespace ResNeSt.Models.Metadata;

/// <summary>The preprocessing recipe a model is evaluated with (see shared/resnest/ARCHITECTURE.md).</summary>
public enum PreprocessingRecipe
{
    /// <summary>torch.hub page: resize shorter side (bilinear, antialiased), centre crop.</summary>
    Hub,
    /// <summary>Official evaluation: centre square crop of S/(S+32) of the short side, bicubic resize to S×S.</summary>
    Paper,
}

/// <summary>Weight and activation precision of a written model; inputs and outputs are always float32.</summary>
public enum ModelPrecision
{
    Fp32,
    Fp16,
}

/// <summary>
/// What a model file says about itself, stored in ONNX <c>metadata_props</c> so that a model describes its
/// own preprocessing and labels and the pipeline cannot be misconfigured.
/// </summary>
public sealed record ModelCard
{
    public const string InputName = "input";
    public const string OutputName = "logits";

    /// <summary>Metadata keys, all prefixed so they never collide with other tools' keys.</summary>
    public static class Keys
    {
        public const string Variant = "resnest.variant";
        public const string CropSize = "resnest.crop_size";
        public const string ResizeSize = "resnest.resize_size";
        public const string Mean = "resnest.mean";
        public const string Std = "resnest.std";
        public const string Recipe = "resnest.recipe";
        public const string ClassNames = "resnest.class_names";
        public const string SourceSha256 = "resnest.source_sha256";
        public const string Precision = "resnest.precision";
        public const string WeightSource = "resnest.weight_source";
    }

    public static IReadOnlyList<float> ImageNetMean { get; } = [0.485f, 0.456f, 0.406f];
    public static IReadOnlyList<float> ImageNetStd { get; } = [0.229f, 0.224f, 0.225f];

    private static readonly Lazy<IReadOnlyList<string>> s_imageNetClasses = new(LoadImageNetClasses);

    /// <summary>The 1000 ImageNet class names in index order (the file the torch.hub example downloads).</summary>
    public static IReadOnlyList<string> ImageNetClassNames => s_imageNetClasses.Value;

    public required string Variant { get; init; }
    public required int CropSize { get; init; }
    public required int ResizeSize { get; init; }
    public required IReadOnlyList<float> Mean { get; init; }
    public required IReadOnlyList<float> Std { get; init; }
    public required PreprocessingRecipe Recipe { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public ModelPrecision Precision { get; init; } = ModelPrecision.Fp32;

    /// <summary>SHA-256 of the source checkpoint, when the weights came from one.</summary>
    public string? SourceSha256 { get; init; }

    /// <summary>Where the weights came from: <c>checkpoint</c>, <c>random(seed=N)</c>, ….</summary>
    public string? WeightSource { get; init; }

    /// <summary>The conventional resize for a crop: <c>int(S / 0.875)</c> (256 for 224).</summary>
    public static int ConventionalResize(int cropSize) => (int)(cropSize / 0.875);

    /// <summary>A card with ImageNet defaults for a crop size.</summary>
    public static ModelCard ForImageNet(string variant, int cropSize, PreprocessingRecipe recipe = PreprocessingRecipe.Hub) => new()
    {
        Variant = variant,
        CropSize = cropSize,
        ResizeSize = ConventionalResize(cropSize),
        Mean = ImageNetMean,
        Std = ImageNetStd,
        Recipe = recipe,
        ClassNames = ImageNetClassNames,
    };

    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var props = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Keys.Variant] = Variant,
            [Keys.CropSize] = CropSize.ToString(CultureInfo.InvariantCulture),
            [Keys.ResizeSize] = ResizeSize.ToString(CultureInfo.InvariantCulture),
            [Keys.Mean] = FormatFloats(Mean),
            [Keys.Std] = FormatFloats(Std),
            [Keys.Recipe] = Recipe.ToString().ToLowerInvariant(),
            // One name per line: class names contain commas and spaces but never newlines.
            [Keys.ClassNames] = string.Join('\n', ClassNames),
            [Keys.Precision] = Precision.ToString().ToLowerInvariant(),
        };
        if (SourceSha256 is not null)
        {
            props[Keys.SourceSha256] = SourceSha256;
        }

        if (WeightSource is not null)
        {
            props[Keys.WeightSource] = WeightSource;
        }

        return props;
    }

    /// <summary>Reads a card back from <c>metadata_props</c>; throws <see cref="InvalidModelCardException"/> naming what is missing or wrong.</summary>
    public static ModelCard FromMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string Require(string key) => metadata.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v)
            ? v
            : throw new InvalidModelCardException($"Model metadata lacks '{key}'.");

        int ParsePositive(string key)
        {
            var text = Require(key);
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new InvalidModelCardException($"Model metadata '{key}' = '{text}' is not a positive integer.");
        }

        IReadOnlyList<float> ParseTriple(string key, bool positive)
        {
            var parts = Require(key).Split(',');
            var values = new float[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])
                    || !float.IsFinite(values[i]) || (positive && values[i] <= 0))
                {
                    throw new InvalidModelCardException($"Model metadata '{key}' has an invalid value '{parts[i]}'.");
                }
            }

            return values.Length == 3 ? values : throw new InvalidModelCardException($"Model metadata '{key}' must hold 3 values, one per RGB channel.");
        }

        var recipeText = Require(Keys.Recipe);
        if (!Enum.TryParse<PreprocessingRecipe>(recipeText, ignoreCase: true, out var recipe) || !Enum.IsDefined(recipe))
        {
            throw new InvalidModelCardException($"Model metadata '{Keys.Recipe}' = '{recipeText}' is not 'hub' or 'paper'.");
        }

        var precision = ModelPrecision.Fp32;
        if (metadata.TryGetValue(Keys.Precision, out var precisionText)
            && (!Enum.TryParse(precisionText, ignoreCase: true, out precision) || !Enum.IsDefined(precision)))
        {
            throw new InvalidModelCardException($"Model metadata '{Keys.Precision}' = '{precisionText}' is not 'fp32' or 'fp16'.");
        }

        var classes = Require(Keys.ClassNames).Split('\n');
        return new ModelCard
        {
            Variant = Require(Keys.Variant),
            CropSize = ParsePositive(Keys.CropSize),
            ResizeSize = ParsePositive(Keys.ResizeSize),
            Mean = ParseTriple(Keys.Mean, positive: false),
            Std = ParseTriple(Keys.Std, positive: true),
            Recipe = recipe,
            ClassNames = classes,
            Precision = precision,
            SourceSha256 = metadata.GetValueOrDefault(Keys.SourceSha256),
            WeightSource = metadata.GetValueOrDefault(Keys.WeightSource),
        };
    }

    private static string FormatFloats(IReadOnlyList<float> values) =>
        string.Join(',', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static string[] LoadImageNetClasses()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ResNeSt.Models.imagenet_classes.txt")
            ?? throw new InvalidOperationException("The ImageNet class list is missing from the assembly.");
        using var reader = new StreamReader(stream);
        var names = reader.ReadToEnd().Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return names.Length == ResNeSt.Models.Architecture.ResNeStVariant.NumClasses
            ? names
            : throw new InvalidOperationException($"Expected 1000 ImageNet classes, found {names.Length}.");
    }
}
