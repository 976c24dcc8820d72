using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ResNeSt.Testing.Samples;

/// <summary>The repository's sample photos, and small re-encoded variants of them for bulk uploads.</summary>
public static class SampleImages
{
    /// <summary>The folder <c>samples/images</c> above <paramref name="start"/> (default: the running assembly's folder).</summary>
    public static string FindDirectory(string? start = null)
    {
        for (var dir = new DirectoryInfo(start ?? AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "images");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"No samples/images folder above {start ?? AppContext.BaseDirectory}.");
    }

    /// <summary>The sample files, in name order.</summary>
    public static IReadOnlyList<string> Paths(string directory) =>
        Directory.GetFiles(directory).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// <paramref name="count"/> distinct small images (64–320 px on the long side, alternately JPEG and PNG) derived from
    /// the samples: each a seeded crop and resize, so every upload has its own bytes. Deterministic for a seed.
    /// </summary>
    public static IReadOnlyList<(string Name, byte[] Content)> Variants(string directory, int count, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var sources = Paths(directory).Select(p => Image.Load<Rgb24>(p)).ToArray();
        try
        {
            // Shrink each source once so that thousands of crops stay cheap.
            foreach (var source in sources)
            {
                source.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(400, 400), Mode = ResizeMode.Max }));
            }

            // Each variant from its own seeded generator, so they can be made in parallel and still be reproducible.
            var variants = new (string, byte[])[count];
            var jpeg = new JpegEncoder { Quality = 85 };
            var png = new PngEncoder { CompressionLevel = PngCompressionLevel.BestSpeed };
            Parallel.For(0, count, i =>
            {
                var random = new Random(unchecked((seed * 1_000_003) + i));
                var source = sources[i % sources.Length];
                int side = random.Next(64, 321);
                int cropW = random.Next(source.Width / 2, source.Width + 1);
                int cropH = random.Next(source.Height / 2, source.Height + 1);
                var crop = new Rectangle(random.Next(0, source.Width - cropW + 1), random.Next(0, source.Height - cropH + 1), cropW, cropH);
                using var variant = source.Clone(x => x
                    .Crop(crop)
                    .Resize(new ResizeOptions { Size = new Size(side, side), Mode = ResizeMode.Max }));
                using var buffer = new MemoryStream();
                bool asJpeg = i % 2 == 0;
                variant.Save(buffer, asJpeg ? jpeg : png);
                variants[i] = (FormattableString.Invariant($"variant-{i:D5}.{(asJpeg ? "jpg" : "png")}"), buffer.ToArray());
            });

            return variants;
        }
        finally
        {
            foreach (var source in sources)
            {
                source.Dispose();
            }
        }
    }
}
