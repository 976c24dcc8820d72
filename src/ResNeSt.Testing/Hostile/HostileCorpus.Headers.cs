using System.Buffers.Binary;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Testing.Hostile;

public static partial class HostileCorpus
{
    private static SourceImage Small(IReadOnlyList<SourceImage> small, string encoding) => small.First(s => s.Name.EndsWith("-" + encoding, StringComparison.Ordinal));

    private static byte[] TinyPngIdat(int width, int height, byte colorType)
    {
        // A few rows of zeros: enough for a decoder to start; the header is what is being tested.
        int channels = colorType switch { 2 => 3, 6 => 4, 4 => 2, _ => 1 };
        int rows = Math.Min(height, 4);
        long rowBytes = Math.Min(1 + ((long)width * channels), 1 << 20);
        return Bytes.Zlib(new byte[rows * rowBytes]);
    }

    private static void AddHugeDimensions(Builder corpus, IReadOnlyList<SourceImage> small)
    {
        foreach (var (w, h) in new (uint, uint)[] { (65535, 65535), (1, int.MaxValue), (16385, 1), (7000, 7000), (0x80000000, 16), (0, 0), (1, 0) })
        {
            var png = Bytes.Png(Bytes.Ihdr(w, h, 8, 2), TinyPngIdat((int)Math.Min(w, 70000), (int)Math.Min(h, 70000), 2));
            var outcome = w == 0 || h == 0 ? Reject(Corrupt) : w > int.MaxValue ? Reject(Corrupt, Budget) : Reject(Budget);
            corpus.Add(HostileClass.HugeDimensions, $"png-ihdr-{w}x{h}", "png", png, outcome);
        }

        var jpeg = Small(small, "jpeg420").Content;
        foreach (var (w, h) in new (ushort, ushort)[] { (65535, 65535), (65535, 1), (1, 65535), (7000, 7000) })
        {
            var copy = (byte[])jpeg.Clone();
            int sof = Bytes.JpegFrame(copy);
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(sof + 5), h);
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(sof + 7), w);
            corpus.Add(HostileClass.HugeDimensions, $"jpeg-sof-{w}x{h}", "jpg", copy, Reject(Budget));
        }

        // Sampling factors: 15×15 (beyond the standard's 4), 0, chroma above luma, and the legal-but-rare 4×4.
        foreach (var (y, c, what) in new (byte, byte, string)[] { (0xFF, 0x11, "15x15"), (0x00, 0x11, "zero"), (0x11, 0x44, "chroma-4x4"), (0x44, 0x11, "luma-4x4"), (0x22, 0x33, "mixed") })
        {
            var copy = (byte[])jpeg.Clone();
            int sof = Bytes.JpegFrame(copy);
            copy[sof + 11] = y;
            copy[sof + 14] = c;
            copy[sof + 17] = c;
            corpus.Add(HostileClass.HugeDimensions, $"jpeg-sampling-{what}", "jpg", copy, HostileExpectation.ClassifiedOrAnyRejection);
        }

        {
            var copy = (byte[])jpeg.Clone();
            int sof = Bytes.JpegFrame(copy);
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(sof + 5), 0); // height defined later by a DNL marker that never comes
            corpus.Add(HostileClass.HugeDimensions, "jpeg-sof-height-0", "jpg", copy, Reject(Corrupt));
        }

        var gif = Small(small, "gif").Content;
        {
            var copy = (byte[])gif.Clone();
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(6), 65535);
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(8), 65535);
            corpus.Add(HostileClass.HugeDimensions, "gif-screen-65535x65535", "gif", copy, Reject(Budget));
        }

        corpus.Add(HostileClass.HugeDimensions, "gif-frame-65535x65535-on-small-screen", "gif",
            Gif(16, 16, frames: 1, frameWidth: 65535, frameHeight: 65535, pixelsPerFrame: 64), HostileExpectation.ClassifiedOrAnyRejection);

        var bmp = Small(small, "bmp").Content;
        foreach (var (w, h) in new (int, int)[] { (int.MaxValue, 1), (1, int.MinValue), (40000, 40000), (-96, 96) })
        {
            var copy = (byte[])bmp.Clone();
            BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(18), w);
            BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(22), h);
            // The 27 KB of rows cannot hold what the header declares, so "truncated" is as true as "over budget".
            var outcome = Reject(Corrupt, Budget);
            corpus.Add(HostileClass.HugeDimensions, $"bmp-{w}x{h}", "bmp", copy, outcome);
        }

        var lossless = Small(small, "webp-lossless").Content;
        {
            var copy = (byte[])lossless.Clone();
            int vp8l = FindChunk(copy, "VP8L");
            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(vp8l + 9));
            bits = (bits & 0xF0000000u) | 16383u | (16383u << 14);
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(vp8l + 9), bits);
            corpus.Add(HostileClass.HugeDimensions, "webp-vp8l-16384x16384", "webp", copy, Reject(Budget));
        }

        var lossy = Small(small, "webp-lossy").Content;
        {
            var copy = (byte[])lossy.Clone();
            int vp8 = FindChunk(copy, "VP8 ");
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(vp8 + 14), 16383);
            BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(vp8 + 16), 16383);
            corpus.Add(HostileClass.HugeDimensions, "webp-vp8-16383x16383", "webp", copy, Reject(Budget));
        }

        corpus.Add(HostileClass.HugeDimensions, "webp-vp8x-canvas-16777216-squared", "webp",
            WebpExtended(flags: 0, canvasWidth: 1 << 24, canvasHeight: 1 << 24, lossless.AsSpan(12)), Reject(Budget));
        corpus.Add(HostileClass.HugeDimensions, "webp-vp8x-canvas-smaller-than-image", "webp",
            WebpExtended(flags: 0, canvasWidth: 8, canvasHeight: 8, lossless.AsSpan(12)), Reject(Corrupt));
    }

    /// <summary>Offset of a RIFF chunk header (its FourCC) in a WebP file; −1 when absent.</summary>
    private static int FindChunk(ReadOnlySpan<byte> webp, string fourCc)
    {
        int pos = 12;
        while (pos + 8 <= webp.Length)
        {
            if (webp.Slice(pos, 4).SequenceEqual(System.Text.Encoding.ASCII.GetBytes(fourCc)))
            {
                return pos;
            }

            int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(webp[(pos + 4)..]);
            pos += 8 + size + (size & 1);
        }

        return -1;
    }

    /// <summary>RIFF/WEBP with a VP8X header and then <paramref name="chunks"/> (already framed) as they are.</summary>
    private static byte[] WebpExtended(byte flags, int canvasWidth, int canvasHeight, ReadOnlySpan<byte> chunks)
    {
        var vp8x = new byte[18];
        "VP8X"u8.CopyTo(vp8x);
        vp8x[4] = 10;
        vp8x[8] = flags;
        WriteUInt24(vp8x.AsSpan(12), canvasWidth - 1);
        WriteUInt24(vp8x.AsSpan(15), canvasHeight - 1);
        return Riff([.. vp8x, .. chunks]);
    }

    private static byte[] Riff(ReadOnlySpan<byte> body)
    {
        var riff = new byte[12 + body.Length];
        "RIFF"u8.CopyTo(riff);
        BinaryPrimitives.WriteUInt32LittleEndian(riff.AsSpan(4), (uint)(4 + body.Length));
        "WEBP"u8.CopyTo(riff.AsSpan(8));
        body.CopyTo(riff.AsSpan(12));
        return riff;
    }

    private static void WriteUInt24(Span<byte> destination, int value)
    {
        destination[0] = (byte)value;
        destination[1] = (byte)(value >> 8);
        destination[2] = (byte)(value >> 16);
    }

    /// <summary>
    /// A GIF whose every frame is one colour: <paramref name="frames"/> image descriptors of the given size, each with
    /// LZW data for <paramref name="pixelsPerFrame"/> pixels (by default exactly the frame's pixels).
    /// </summary>
    private static byte[] Gif(int width, int height, int frames, int? frameWidth = null, int? frameHeight = null, long? pixelsPerFrame = null)
    {
        int fw = frameWidth ?? width;
        int fh = frameHeight ?? height;
        var lzw = Bytes.GifLzwUniform(pixelsPerFrame ?? ((long)fw * fh));
        using var output = new MemoryStream();
        output.Write("GIF89a"u8);
        Span<byte> word = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)width);
        output.Write(word);
        BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)height);
        output.Write(word);
        output.Write([0xF1, 0, 0]); // global colour table of 4 entries
        output.Write([0x20, 0x60, 0xA0, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x80, 0x80, 0x80]);
        if (frames > 1)
        {
            output.Write([0x21, 0xFF, 0x0B, .. "NETSCAPE2.0"u8, 0x03, 0x01, 0x00, 0x00, 0x00]);
        }

        for (int i = 0; i < frames; i++)
        {
            output.Write([0x21, 0xF9, 0x04, 0x04, 0x01, 0x00, 0x00, 0x00]); // graphic control: 10 ms, do not dispose
            output.WriteByte(0x2C);
            output.Write([0, 0, 0, 0]);
            BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)fw);
            output.Write(word);
            BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)fh);
            output.Write(word);
            output.WriteByte(0);
            output.Write(lzw);
        }

        output.WriteByte(0x3B);
        return output.ToArray();
    }

    private static byte[] Bmp(int width, int height, short bitsPerPixel, int compression, ReadOnlySpan<byte> palette, ReadOnlySpan<byte> pixels, int? pixelOffset = null, int? colorsUsed = null)
    {
        int offset = pixelOffset ?? (14 + 40 + palette.Length);
        var header = new byte[14 + 40];
        header[0] = (byte)'B';
        header[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(2), header.Length + palette.Length + pixels.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(10), offset);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(header.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(header.AsSpan(28), bitsPerPixel);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(30), compression);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(34), pixels.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(46), colorsUsed ?? palette.Length / 4);
        return [.. header, .. palette, .. pixels];
    }

    private static void AddBombs(Builder corpus)
    {
        // Over the pixel budget, with a payload that really inflates to 1 GiB: refused from the header, never inflated.
        var gib = Bytes.ZlibZeros(1L << 30);
        corpus.Add(HostileClass.Bomb, "png-65535x65535-idat-inflates-to-1gib", "png", Bytes.Png(Bytes.Ihdr(65535, 65535, 8, 0), gib), Reject(Budget));
        corpus.Add(HostileClass.Bomb, "png-16384x16384-idat-inflates-to-1gib", "png", Bytes.Png(Bytes.Ihdr(16384, 16384, 8, 0), gib), Reject(Budget));

        // Inside the budget (36 megapixels) and uniform: legitimate, decoded with bounded memory, classified.
        const int side = 6000;
        var greyRows = Bytes.ZlibZeros((long)(side + 1) * side);
        corpus.Add(HostileClass.Bomb, "png-6000x6000-grey-uniform", "png", Bytes.Png(Bytes.Ihdr(side, side, 8, 0), greyRows), HostileExpectation.ClassifiedUnlessTimedOut);
        var wideRows = Bytes.ZlibZeros((long)((side * 6) + 1) * side);
        corpus.Add(HostileClass.Bomb, "png-6000x6000-rgb16-uniform", "png", Bytes.Png(Bytes.Ihdr(side, side, 16, 2), wideRows), HostileExpectation.ClassifiedUnlessTimedOut);

        // A small image whose IDAT goes on inflating (256 MiB) after the last row: the surplus must not be inflated.
        var surplus = Bytes.ZlibZeros(256L << 20);
        corpus.Add(HostileClass.Bomb, "png-100x100-idat-surplus-256mib", "png", Bytes.Png(Bytes.Ihdr(100, 100, 8, 0), surplus), HostileExpectation.ClassifiedOrAnyRejection);

        corpus.Add(HostileClass.Bomb, "gif-6000x6000-uniform-lzw", "gif", Gif(side, side, 1), HostileExpectation.ClassifiedUnlessTimedOut);
        corpus.Add(HostileClass.Bomb, "gif-65535x65535-uniform-lzw", "gif", Gif(65535, 65535, 1, pixelsPerFrame: 1L << 28), Reject(Budget));

        // BMP RLE8: a full image of runs, and one whose data is only "end of bitmap" (every pixel left undefined).
        var runs = new List<byte>();
        for (int y = 0; y < side; y++)
        {
            for (int left = side; left > 0; left -= 255)
            {
                runs.Add((byte)Math.Min(255, left));
                runs.Add(1);
            }

            runs.AddRange([0, 0]);
        }

        runs.AddRange([0, 1]);
        byte[] palette = [0, 0, 0, 0, 0x40, 0x80, 0xC0, 0];
        corpus.Add(HostileClass.Bomb, "bmp-rle8-6000x6000-runs", "bmp", Bmp(side, side, 8, 1, palette, runs.ToArray()), HostileExpectation.ClassifiedUnlessTimedOut);
        corpus.Add(HostileClass.Bomb, "bmp-rle8-6000x6000-end-of-bitmap-only", "bmp", Bmp(side, side, 8, 1, palette, [0, 1]), HostileExpectation.ClassifiedOrAnyRejection);
        corpus.Add(HostileClass.Bomb, "bmp-rle8-40000x40000-end-of-bitmap-only", "bmp", Bmp(40000, 40000, 8, 1, palette, [0, 1]), Reject(Budget));

        // Uniform WebP and JPEG made by ImageSharp's own encoders.
        using var uniform = new Image<Rgb24>(3000, 3000, new Rgb24(40, 90, 160));
        corpus.Add(HostileClass.Bomb, "webp-lossless-3000x3000-uniform", "webp", Sources.Encode(uniform, "webp-lossless"), HostileExpectation.ClassifiedUnlessTimedOut);
        corpus.Add(HostileClass.Bomb, "jpeg-3000x3000-uniform", "jpg", Sources.Encode(uniform, "jpeg420"), HostileExpectation.ClassifiedUnlessTimedOut);
    }

    private static void AddManyFrames(Builder corpus, IReadOnlyList<SourceImage> small)
    {
        corpus.Add(HostileClass.ManyFrames, "gif-64x64-5000-frames", "gif", Gif(64, 64, 5000), HostileExpectation.Classified);
        corpus.Add(HostileClass.ManyFrames, "gif-1x1-20000-frames", "gif", Gif(1, 1, 20000), HostileExpectation.Classified);
        corpus.Add(HostileClass.ManyFrames, "gif-1000x1000-1000-frames", "gif", Gif(1000, 1000, 1000), HostileExpectation.ClassifiedUnlessTimedOut);

        // Animated WebP: the animation flag set (refused outright) and, sneakier, frames behind a VP8X that denies them.
        byte[] vp8l;
        using (var pixel = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(2, 2))
        {
            vp8l = Sources.Encode(pixel, "webp-lossless");
        }

        int chunk = FindChunk(vp8l, "VP8L");
        var image = vp8l.AsSpan(chunk);
        uint dims = BinaryPrimitives.ReadUInt32LittleEndian(image[9..]);
        int w = (int)(dims & 0x3FFF) + 1;
        int h = (int)((dims >> 14) & 0x3FFF) + 1;
        var frames = new List<byte>();
        frames.AddRange([.. "ANIM"u8, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        var anmf = new byte[8 + 16];
        "ANMF"u8.CopyTo(anmf);
        BinaryPrimitives.WriteUInt32LittleEndian(anmf.AsSpan(4), (uint)(16 + image.Length + (image.Length & 1)));
        WriteUInt24(anmf.AsSpan(14), w - 1);
        WriteUInt24(anmf.AsSpan(17), h - 1);
        WriteUInt24(anmf.AsSpan(20), 10);
        for (int i = 0; i < 3000; i++)
        {
            frames.AddRange(anmf);
            frames.AddRange(image.ToArray());
            if ((image.Length & 1) != 0)
            {
                frames.Add(0);
            }
        }

        corpus.Add(HostileClass.ManyFrames, "webp-animated-3000-frames", "webp", WebpExtended(0x02, w, h, frames.ToArray()), Reject(Unsupported));
        corpus.Add(HostileClass.ManyFrames, "webp-3000-frames-animation-flag-clear", "webp", WebpExtended(0x00, w, h, frames.ToArray()), HostileExpectation.ClassifiedOrAnyRejection);

        // APNG: 3000 frame-control and frame-data chunks after a valid default image.
        var png = small.First(s => s.Name.EndsWith("-png", StringComparison.Ordinal)).Content;
        int width = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16));
        int height = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20));
        var frameData = Bytes.Zlib(new byte[(1 + (width * 3)) * height]);
        using var apng = new MemoryStream();
        apng.Write(png.AsSpan(0, 33)); // signature + IHDR
        var actl = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(actl, 3001);
        Bytes.PngChunk(apng, "acTL", actl);
        int sequence = 0;
        var idatStart = IndexOf(png, "IDAT"u8) - 4;
        apng.Write(png.AsSpan(33, idatStart - 33));
        Bytes.PngChunk(apng, "fcTL", FrameControl(sequence++, width, height));
        int iend = IndexOf(png, "IEND"u8) - 4;
        apng.Write(png.AsSpan(idatStart, iend - idatStart));
        for (int i = 0; i < 3000; i++)
        {
            Bytes.PngChunk(apng, "fcTL", FrameControl(sequence++, width, height));
            var fdat = new byte[4 + frameData.Length];
            BinaryPrimitives.WriteInt32BigEndian(fdat, sequence++);
            frameData.CopyTo(fdat, 4);
            Bytes.PngChunk(apng, "fdAT", fdat);
        }

        Bytes.PngChunk(apng, "IEND", []);
        corpus.Add(HostileClass.ManyFrames, "apng-3001-frames", "png", apng.ToArray(), HostileExpectation.Classified);
    }

    private static byte[] FrameControl(int sequence, int width, int height)
    {
        var fctl = new byte[26];
        BinaryPrimitives.WriteInt32BigEndian(fctl, sequence);
        BinaryPrimitives.WriteInt32BigEndian(fctl.AsSpan(4), width);
        BinaryPrimitives.WriteInt32BigEndian(fctl.AsSpan(8), height);
        BinaryPrimitives.WriteUInt16BigEndian(fctl.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt16BigEndian(fctl.AsSpan(22), 100);
        return fctl;
    }

    private static int IndexOf(ReadOnlySpan<byte> data, ReadOnlySpan<byte> value) => data.IndexOf(value);
}
