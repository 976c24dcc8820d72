using System.Text.Json;
using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>One reference case written by tools/make-preprocessing-references.py.</summary>
internal sealed record ParityCase(string Name, string Input, PreprocessingRecipe Recipe, int Crop, int Resize, bool Exif, string Reference)
{
    public PreprocessingSpec Spec => new(Recipe, Crop, Resize, ModelCard.ImageNetMean, ModelCard.ImageNetStd, Exif);

    public override string ToString() => $"{Name} {Recipe.ToString().ToLowerInvariant()}{Crop}";
}

internal static class Fixtures
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    public static string RepoRoot => s_root.Value;

    public static string FixtureDir => Path.Combine(RepoRoot, "tests", "ResNeSt.Inference.Tests", "fixtures");

    public static string Sample(string name) => Path.Combine(RepoRoot, "samples", "images", name);

    public static string Image(string name) => Path.Combine(FixtureDir, "images", name);

    public static IReadOnlyList<ParityCase> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir, "manifest.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new ParityCase(
            c.GetProperty("name").GetString()!,
            c.GetProperty("input").GetString()!,
            Enum.Parse<PreprocessingRecipe>(c.GetProperty("recipe").GetString()!, ignoreCase: true),
            c.GetProperty("crop").GetInt32(),
            c.GetProperty("resize").GetInt32(),
            c.GetProperty("exif").GetBoolean(),
            c.GetProperty("reference").GetString()!)).ToList();
    }

    /// <summary>The reference S×S×3 bytes (HWC) torchvision held just before ToTensor.</summary>
    public static byte[] LoadReference(ParityCase c)
    {
        using var image = SixLabors.ImageSharp.Image.Load<Rgb24>(Path.Combine(FixtureDir, c.Reference));
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }

    /// <summary>
    /// Turns a normalised NCHW tensor back into the 8-bit HWC values it was made from, requiring each float to be
    /// exactly the float32 normalisation of some byte (so the normalisation itself is checked too).
    /// </summary>
    public static byte[] Denormalise(ReadOnlySpan<float> tensor, int size, PreprocessingSpec spec)
    {
        int plane = size * size;
        var table = new float[3, 256];
        for (int c = 0; c < 3; c++)
        {
            for (int v = 0; v < 256; v++)
            {
                table[c, v] = ((v / 255f) - spec.Mean[c]) / spec.Std[c];
            }
        }

        var bytes = new byte[plane * 3];
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < plane; i++)
            {
                float x = tensor[(c * plane) + i];
                int v = (int)Math.Round(((x * spec.Std[c]) + spec.Mean[c]) * 255f);
                v = Math.Clamp(v, 0, 255);
                if (table[c, v] != x)
                {
                    throw new InvalidOperationException($"Tensor value {x} (channel {c}, index {i}) is not the normalisation of any byte.");
                }

                bytes[(i * 3) + c] = (byte)v;
            }
        }

        return bytes;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ResNeSt.Functions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Repository root (ResNeSt.Functions.sln) not found above " + AppContext.BaseDirectory);
    }
}
