using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// How one model wants its input prepared: the recipe (see shared/resnest/ARCHITECTURE.md), the square crop side,
/// the resize of the <c>hub</c> recipe, and the per-channel normalisation.
/// </summary>
/// <param name="Recipe"><c>Hub</c> (resize shorter side, bilinear, centre crop) or <c>Paper</c> (centre square crop of S/(S+32), bicubic resize).</param>
/// <param name="CropSize">Side S of the square tensor.</param>
/// <param name="ResizeSize">Shorter side after the <c>hub</c> resize; unused by <c>paper</c>.</param>
/// <param name="Mean">Per-channel mean, RGB order, on the 0–1 scale.</param>
/// <param name="Std">Per-channel standard deviation, RGB order, on the 0–1 scale.</param>
/// <param name="ApplyExifOrientation">Rotate/flip by the EXIF orientation tag first. PIL ignores the tag, so <c>false</c> gives exact parity.</param>
public sealed record PreprocessingSpec(
    PreprocessingRecipe Recipe,
    int CropSize,
    int ResizeSize,
    IReadOnlyList<float> Mean,
    IReadOnlyList<float> Std,
    bool ApplyExifOrientation = true)
{
    /// <summary>The number of floats one preprocessed image occupies: 3 × S × S.</summary>
    public int TensorLength => checked(3 * CropSize * CropSize);

    /// <summary>The spec a model card describes.</summary>
    public static PreprocessingSpec FromModelCard(ModelCard card, bool applyExifOrientation = true)
    {
        ArgumentNullException.ThrowIfNull(card);
        return new PreprocessingSpec(card.Recipe, card.CropSize, card.ResizeSize, card.Mean, card.Std, applyExifOrientation);
    }

    /// <summary>Throws <see cref="ArgumentException"/> when the spec cannot describe a tensor.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Recipe))
        {
            throw new ArgumentException($"Unknown preprocessing recipe {Recipe}.", nameof(Recipe));
        }

        // 4096 keeps 3·S·S and every intermediate index far inside int range.
        ArgumentOutOfRangeException.ThrowIfLessThan(CropSize, 1, nameof(CropSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(CropSize, 4096, nameof(CropSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(ResizeSize, 1, nameof(ResizeSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ResizeSize, 16384, nameof(ResizeSize));
        ArgumentNullException.ThrowIfNull(Mean);
        ArgumentNullException.ThrowIfNull(Std);
        if (Mean.Count != 3 || Std.Count != 3)
        {
            throw new ArgumentException("Mean and Std must hold exactly 3 values (R, G, B).");
        }

        for (int c = 0; c < 3; c++)
        {
            if (!float.IsFinite(Mean[c]) || !float.IsFinite(Std[c]) || Std[c] <= 0)
            {
                throw new ArgumentException($"Channel {c}: mean {Mean[c]} / std {Std[c]} is not a usable normalisation.");
            }
        }
    }
}
