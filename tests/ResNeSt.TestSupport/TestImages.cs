using ResNeSt.Testing.Samples;

namespace ResNeSt.TestSupport;

/// <summary>Images for uploads: the repository's sample photos, generated pictures, and deliberately broken files.</summary>
public static class TestImages
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static IReadOnlyList<string> SamplePaths { get; } =
        Directory.GetFiles(Path.Combine(RepositoryRoot, "samples", "images")).Order(StringComparer.Ordinal).ToArray();

    public static byte[] Sample(string fileName) => File.ReadAllBytes(Path.Combine(RepositoryRoot, "samples", "images", fileName));

    /// <summary>A small PNG whose content depends on <paramref name="seed"/> (different bytes, different ETag).</summary>
    public static byte[] GeneratedPng(int seed, int width = 96, int height = 80) => GeneratedImages.Png(seed, width, height);

    /// <summary>A PNG cut off in the middle of its image data: the header parses, the pixels do not.</summary>
    public static byte[] TruncatedPng()
    {
        var png = GeneratedPng(7, 256, 256);
        return png.AsSpan(0, png.Length / 2).ToArray();
    }

    /// <summary>A valid PNG signature and header that declare 60000 × 60000 pixels (a decompression bomb's header).</summary>
    public static byte[] HugeDeclaredPng()
    {
        var png = GeneratedPng(3, 8, 8);
        // IHDR data starts at byte 16: width and height, big-endian; the chunk CRC must be recomputed.
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 60000);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 60000);
        var crc = Crc32(png.AsSpan(12, 17));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), crc);
        return png;
    }

    public static byte[] Text() => "this is not an image, just some text"u8.ToArray();

    /// <summary>PNG chunk CRC (ISO 3309, reflected 0xEDB88320).</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
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

        throw new InvalidOperationException("Repository root (ResNeSt.Functions.sln) not found above the test output.");
    }
}
