namespace ResNeSt.Models.Architecture;

/// <summary>
/// One ResNeSt configuration: the four official variants (torch.hub <c>zhanghang1989/ResNeSt</c>)
/// and reduced configurations with the same block types for fast tests.
/// </summary>
/// <param name="Name">The torch.hub entry point name, e.g. <c>resnest50</c>; reduced configurations carry a descriptive name.</param>
/// <param name="BlocksPerStage">Bottleneck blocks in layer1..layer4.</param>
/// <param name="StemWidth">Width <c>w</c> of the deep stem (its output has <c>2w</c> channels).</param>
/// <param name="CropSize">Evaluation crop <c>S</c> (input is <c>[N,3,S,S]</c>).</param>
/// <param name="PublishedTop1">Published ImageNet top-1 accuracy in percent; <c>null</c> for reduced configurations.</param>
public sealed record ResNeStVariant(
    string Name,
    IReadOnlyList<int> BlocksPerStage,
    int StemWidth,
    int CropSize,
    double? PublishedTop1)
{
    /// <summary>All four official variants share these.</summary>
    public const int Radix = 2;
    public const int Cardinality = 1;
    public const int BottleneckWidth = 64;
    public const int Expansion = 4;
    public const int NumClasses = 1000;
    public const float BatchNormEpsilon = 1e-5f;

    /// <summary>Stage planes; stage outputs are planes × <see cref="Expansion"/>.</summary>
    public static IReadOnlyList<int> StagePlanes { get; } = [64, 128, 256, 512];

    /// <summary>Stage strides; the stride sits in the first block of a stage.</summary>
    public static IReadOnlyList<int> StageStrides { get; } = [1, 2, 2, 2];

    public static ResNeStVariant ResNeSt50 { get; } = new("resnest50", [3, 4, 6, 3], 32, 224, 81.03);
    public static ResNeStVariant ResNeSt101 { get; } = new("resnest101", [3, 4, 23, 3], 64, 256, 82.83);
    public static ResNeStVariant ResNeSt200 { get; } = new("resnest200", [3, 24, 36, 3], 64, 320, 83.84);
    public static ResNeStVariant ResNeSt269 { get; } = new("resnest269", [3, 30, 48, 8], 64, 416, 84.54);

    public static IReadOnlyList<ResNeStVariant> Official { get; } = [ResNeSt50, ResNeSt101, ResNeSt200, ResNeSt269];

    /// <summary>True for the four torch.hub variants.</summary>
    public bool IsOfficial => Official.Any(v => v.Name == Name);

    /// <summary>Channels leaving the deep stem (and entering layer1).</summary>
    public int StemOutputChannels => StemWidth * 2;

    /// <summary>
    /// A reduced configuration for tests: same block types (split attention, avd, avg-down, deep stem),
    /// fewer blocks and optionally a narrower stem and smaller crop.
    /// </summary>
    public static ResNeStVariant Reduced(IReadOnlyList<int> blocksPerStage, int stemWidth = 16, int cropSize = 64)
    {
        ArgumentNullException.ThrowIfNull(blocksPerStage);
        if (blocksPerStage.Count != 4 || blocksPerStage.Any(b => b < 1))
        {
            throw new ArgumentException("A ResNeSt has four stages of at least one block each.", nameof(blocksPerStage));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(stemWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(cropSize, 32);
        return new($"resnest-reduced-{string.Join('-', blocksPerStage)}-w{stemWidth}", blocksPerStage, stemWidth, cropSize, null);
    }

    /// <summary>Finds an official variant by its torch.hub name (case-insensitive).</summary>
    public static ResNeStVariant FromName(string name) =>
        Official.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException(
            $"Unknown variant '{name}'. Known: {string.Join(", ", Official.Select(v => v.Name))}.", nameof(name));

    /// <summary>Inner channels of the split-attention MLP: max(C_in·r/4, 32) with integer division.</summary>
    public static int AttentionInterChannels(int groupWidth) => Math.Max(groupWidth * Radix / 4, 32);

    public bool Equals(ResNeStVariant? other) =>
        other is not null && Name == other.Name && StemWidth == other.StemWidth && CropSize == other.CropSize
        && BlocksPerStage.SequenceEqual(other.BlocksPerStage) && PublishedTop1 == other.PublishedTop1;

    public override int GetHashCode() => HashCode.Combine(Name, StemWidth, CropSize);
}
