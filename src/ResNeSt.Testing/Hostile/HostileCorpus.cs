using System.Globalization;
using System.Text;
using ResNeSt.Inference.Imaging;

namespace ResNeSt.Testing.Hostile;

/// <summary>
/// Generates the hostile-upload corpus from the sample images: truncations, bit flips, lying headers, compression
/// bombs, animations with thousands of frames, malformed containers, empty files, non-images named like images and
/// polyglots — each with the outcome the product must give. Everything is derived from the samples and a seed, so the
/// same inputs give byte-identical files with the same names.
/// </summary>
public static partial class HostileCorpus
{
    public const int DefaultSeed = 20261128;

    /// <summary>Generates the corpus (a few hundred files, about 20 MB; takes a few seconds).</summary>
    public static IReadOnlyList<HostileFile> Generate(string sampleDirectory, int seed = DefaultSeed)
    {
        var (originals, small) = Sources.Load(sampleDirectory);
        if (originals.Count == 0)
        {
            throw new ArgumentException($"No sample images in {sampleDirectory}.", nameof(sampleDirectory));
        }

        var corpus = new Builder();
        AddEmpty(corpus);
        AddNotImages(corpus, seed);
        AddTruncations(corpus, originals, small);
        AddBitFlips(corpus, small, seed);
        AddHugeDimensions(corpus, small);
        AddBombs(corpus);
        AddManyFrames(corpus, small);
        AddMalformed(corpus, small);
        AddPolyglots(corpus, small);
        AddMetadataBombs(corpus);
        return corpus.Files;
    }

    /// <summary>Collects files and gives each a unique, stable name: <c>{class}-{nnn}-{what}.{ext}</c>.</summary>
    private sealed class Builder
    {
        private readonly Dictionary<HostileClass, int> _counts = [];

        public List<HostileFile> Files { get; } = [];

        public void Add(HostileClass kind, string what, string extension, byte[] content, HostileExpectation expected)
        {
            int n = _counts.GetValueOrDefault(kind);
            _counts[kind] = n + 1;
            var name = string.Create(CultureInfo.InvariantCulture, $"{kind.ToString().ToLowerInvariant()}-{n:D3}-{what}.{extension}");
            Files.Add(new HostileFile(name, kind, what, content, expected));
        }
    }

    private static HostileExpectation Reject(params ImageRejectionReason[] reasons) => HostileExpectation.Rejected(reasons);

    private const ImageRejectionReason Corrupt = ImageRejectionReason.Corrupt;
    private const ImageRejectionReason Unsupported = ImageRejectionReason.UnsupportedFormat;
    private const ImageRejectionReason Budget = ImageRejectionReason.PixelBudgetExceeded;

    private static void AddEmpty(Builder corpus)
    {
        corpus.Add(HostileClass.Empty, "zero-bytes", "jpg", [], Reject(ImageRejectionReason.Empty));
        foreach (byte b in new byte[] { 0x00, 0xFF, 0x89, (byte)'G', (byte)'B', (byte)'R', (byte)'\n' })
        {
            corpus.Add(HostileClass.Empty, $"one-byte-{b:x2}", "png", [b], Reject(Unsupported));
        }
    }

    private static void AddNotImages(Builder corpus, int seed)
    {
        var random = new Random(seed);
        var noise = new byte[4096];
        random.NextBytes(noise);
        noise[0] = 0x00; // not by chance a signature
        var texts = new (string What, string Ext, string Text)[]
        {
            ("text", "jpg", "This is not an image; it is a plain text file named like one.\n"),
            ("html-script", "jpg", "<!DOCTYPE html><html><body><script>fetch('/api/results').then(r=>r.text()).then(alert)</script></body></html>\n"),
            ("svg", "png", "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\"><script>alert(1)</script><rect width=\"64\" height=\"64\"/></svg>"),
            ("json", "jpg", "{\"width\": 65535, \"height\": 65535, \"format\": \"png\"}"),
            ("shell", "jpeg", "#!/bin/sh\nrm -rf --no-preserve-root /\n"),
            ("pdf", "jpg", "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
            ("bm-text", "bmp", "BMP is not what this text is about; it only starts with BM.\n"),
            ("gif-lowercase", "gif", "gif89a is not a GIF signature; case matters.\n"),
            ("riff-wave", "webp", "RIFF\u0024\u0000\u0000\u0000WAVEfmt \u0010\u0000\u0000\u0000\u0001\u0000\u0001\u0000"),
            ("utf8-bom-text", "png", "\uFEFFPNG, but only in words.\n"),
        };
        foreach (var (what, ext, text) in texts)
        {
            corpus.Add(HostileClass.NotAnImage, what, ext, Encoding.UTF8.GetBytes(text), Reject(Unsupported));
        }

        corpus.Add(HostileClass.NotAnImage, "elf-executable", "jpg", Elf(), Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "random-noise", "jpg", noise, Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "zip-archive", "png", Zip(("readme.txt", "hello"u8.ToArray())), Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "gzip", "jpg", [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "tiff-le", "jpg", Tiff(littleEndian: true), Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "tiff-be", "png", Tiff(littleEndian: false), Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "ico", "png", [0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0x28, 0, 0, 0, 0x16, 0, 0, 0], Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "heic-ftyp", "jpg", [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8], Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "avif-ftyp", "png", [0, 0, 0, 0x1C, .. "ftypavif"u8, 0, 0, 0, 0, .. "avifmif1miaf"u8], Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "psd", "png", [.. "8BPS"u8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 64, 0, 0, 0, 64, 0, 8, 0, 3], Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "jpeg-two-byte-soi", "jpg", [0xFF, 0xD8], Reject(Unsupported));
        corpus.Add(HostileClass.NotAnImage, "jpeg-2000", "jpg", [0, 0, 0, 0x0C, .. "jP  "u8, 0x0D, 0x0A, 0x87, 0x0A], Reject(Unsupported));
    }

    /// <summary>A minimal x86-64 ELF executable header (the file would exit(0) on Linux; here it only has to be an ELF).</summary>
    private static byte[] Elf()
    {
        var elf = new byte[120];
        "\u007FELF"u8.CopyTo(elf);
        elf[4] = 2; // 64-bit
        elf[5] = 1; // little endian
        elf[6] = 1; // version
        elf[16] = 2; // ET_EXEC
        elf[18] = 0x3E; // x86-64
        elf[20] = 1;
        BitConverter.TryWriteBytes(elf.AsSpan(24), 0x400078L); // entry
        BitConverter.TryWriteBytes(elf.AsSpan(32), 64L); // program headers
        elf[52] = 64; // header size
        elf[54] = 56; // program header size
        elf[56] = 1; // one program header
        elf[64] = 1; // PT_LOAD
        elf[68] = 5; // R+X
        byte[] code = [0xB8, 0x3C, 0, 0, 0, 0x31, 0xFF, 0x0F, 0x05]; // mov eax,60; xor edi,edi; syscall
        code.CopyTo(elf, 111);
        return elf;
    }

    private static byte[] Tiff(bool littleEndian)
    {
        byte[] header = littleEndian ? [0x49, 0x49, 0x2A, 0x00, 0x08, 0, 0, 0] : [0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 0x08];
        // One IFD entry (ImageWidth = 65535) and an IFD offset that points far outside the file.
        byte[] ifd = littleEndian
            ? [1, 0, 0x00, 0x01, 3, 0, 1, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F]
            : [0, 1, 0x01, 0x00, 0, 3, 0, 0, 0, 1, 0xFF, 0xFF, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF];
        return [.. header, .. ifd];
    }

    private static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var entry = zip.CreateEntry(name, System.IO.Compression.CompressionLevel.NoCompression);
                entry.LastWriteTime = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero); // deterministic bytes
                using var stream = entry.Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    private static void AddTruncations(Builder corpus, IReadOnlyList<SourceImage> originals, IReadOnlyList<SourceImage> small)
    {
        // Each small encoding (one sample per format, rotating) cut at fixed offsets through its headers, at fractions of
        // its length through its data, and just before its end.
        var samples = small.Count / Sources.Formats.Length;
        for (int f = 0; f < Sources.Formats.Length; f++)
        {
            var source = small[((f % samples) * Sources.Formats.Length) + f];
            int length = source.Content.Length;
            var offsets = new SortedSet<int> { 1, 2, 3, 5, 8, 11, 13, 16, 20, 26, 30, 40, 64, 100, 200, length - 1, length - 2, length - 8 };
            foreach (var fraction in new[] { 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.97 })
            {
                offsets.Add((int)(length * fraction));
            }

            foreach (int offset in offsets.Where(o => o > 0 && o < length))
            {
                corpus.Add(HostileClass.Truncated, $"{source.Name}-at-{offset}", source.Extension, source.Content[..offset], TruncationOutcome(source, offset));
            }
        }

        foreach (var source in originals)
        {
            foreach (var fraction in new[] { 0.3, 0.7, 0.999 })
            {
                int offset = (int)(source.Content.Length * fraction);
                corpus.Add(HostileClass.Truncated, $"{source.Name}-original-at-{offset}", source.Extension, source.Content[..offset], TruncationOutcome(source, offset));
            }
        }
    }

    private static HostileExpectation TruncationOutcome(SourceImage source, int offset) =>
        offset < source.SignatureLength ? Reject(Unsupported)
        : source.Format == "gif" && offset == source.Content.Length - 1 ? HostileExpectation.Classified // only the trailer is gone
        : Reject(Corrupt);

    private static void AddBitFlips(Builder corpus, IReadOnlyList<SourceImage> small, int seed)
    {
        var random = new Random(seed ^ 0x5EED);
        foreach (var source in small)
        {
            // (flips, where): one bit anywhere, a few in the headers, many anywhere, one in the entropy-coded tail.
            foreach (var (flips, region) in new[] { (1, "any"), (3, "head"), (12, "any"), (2, "tail") })
            {
                var content = (byte[])source.Content.Clone();
                var positions = new List<string>();
                for (int i = 0; i < flips; i++)
                {
                    int span = content.Length;
                    int start = 0;
                    if (region == "head")
                    {
                        span = Math.Min(64, content.Length);
                    }
                    else if (region == "tail")
                    {
                        start = content.Length * 3 / 4;
                        span = content.Length - start;
                    }

                    int position = start + random.Next(span);
                    int bit = random.Next(8);
                    content[position] ^= (byte)(1 << bit);
                    positions.Add(string.Create(CultureInfo.InvariantCulture, $"{position}.{bit}"));
                }

                corpus.Add(HostileClass.BitFlip, $"{source.Name}-{flips}x{region}", source.Extension, content, HostileExpectation.ClassifiedOrAnyRejection);
            }
        }
    }
}
