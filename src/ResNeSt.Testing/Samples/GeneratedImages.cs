using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Testing.Samples;

/// <summary>Synthetic pictures for uploads that must differ from each other (different bytes, different ETag).</summary>
public static class GeneratedImages
{
    /// <summary>A small PNG whose content depends on <paramref name="seed"/>: a gradient with an XOR pattern.</summary>
    public static byte[] Png(int seed, int width = 96, int height = 80)
    {
        using var image = new Image<Rgb24>(width, height);
        var random = new Random(seed);
        byte r = (byte)random.Next(256), g = (byte)random.Next(256), b = (byte)random.Next(256);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    row[x] = new Rgb24((byte)(r + (x * 3)), (byte)(g + (y * 2)), (byte)(b ^ (x * y)));
                }
            }
        });
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }
}
