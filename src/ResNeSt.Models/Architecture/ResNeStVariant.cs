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

    /// <summary>
    /// This configuration's stage planes: <see cref="StagePlanes"/> for the official variants; a reduced configuration
    /// may be narrower (its checkpoint then stays small enough to commit as a test fixture without sharing storage).
    /// </summary>
    public IReadOnlyList<int> Planes { get; init; } = StagePlanes;

    /// <summary>Channels leaving the deep stem (and entering layer1).</summary>
    public int StemOutputChannels => StemWidth * 2;

    /// <summary>
    /// A reduced configuration for tests: same block types (split attention, avd, avg-down, deep stem),
    /// fewer blocks and optionally a narrower stem, narrower stages (<paramref name="planes"/>, even numbers) and a
    /// smaller crop.
    /// </summary>
    public static ResNeStVariant Reduced(IReadOnlyList<int> blocksPerStage, int stemWidth = 16, int cropSize = 64, IReadOnlyList<int>? planes = null)
    {
        ArgumentNullException.ThrowIfNull(blocksPerStage);
        if (blocksPerStage.Count != 4 || blocksPerStage.Any(b => b < 1))
        {
            throw new ArgumentException("A ResNeSt has four stages of at least one block each.", nameof(blocksPerStage));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(stemWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(cropSize, 32);
        if (planes is null || planes.SequenceEqual(StagePlanes))
        {
            return new($"resnest-reduced-{string.Join('-', blocksPerStage)}-w{stemWidth}", blocksPerStage, stemWidth, cropSize, null);
        }

        // Each stage's 3x3 convolution splits its planes into Radix groups.
        if (planes.Count != 4 || planes.Any(p => p < Radix || p % Radix != 0))
        {
            throw new ArgumentException($"A ResNeSt has four stages of planes, each a positive multiple of {Radix}.", nameof(planes));
        }

        return new($"resnest-reduced-{string.Join('-', blocksPerStage)}-w{stemWidth}-p{string.Join('-', planes)}", blocksPerStage, stemWidth, cropSize, null)
        {
            Planes = [.. planes],
        };
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
        && BlocksPerStage.SequenceEqual(other.BlocksPerStage) && Planes.SequenceEqual(other.Planes) && PublishedTop1 == other.PublishedTop1;

    public override int GetHashCode() => HashCode.Combine(Name, StemWidth, CropSize);
}
