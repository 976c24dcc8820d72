using System.Buffers.Binary;

namespace ResNeSt.Inference.Imaging;

/// <summary>The formats an upload may be in. Anything else is refused before a decoder sees it.</summary>
internal enum ImageFormatKind
{
    Unknown,
    Jpeg,
    Png,
    Gif,
    Bmp,
    Webp,
}

/// <summary>
/// Identifies the format from the leading bytes only: names and content types are chosen by the uploader and prove
/// nothing. Also checks the container framing that ImageSharp forgives but PIL does not (a truncated JPEG or PNG
/// decodes to grey in ImageSharp and raises in PIL), so a damaged upload is refused rather than classified.
/// </summary>
internal static class ImageFormatSniffer
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ReadOnlySpan<byte> EndOfImage => [0xFF, 0xD9];

    public static ImageFormatKind Sniff(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return ImageFormatKind.Jpeg;
        }

        if (data.StartsWith(PngSignature))
        {
            return ImageFormatKind.Png;
        }

        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
        {
            return ImageFormatKind.Gif;
        }

        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return ImageFormatKind.Webp;
        }

        // "BM" alone matches plenty of text; the DIB header size that follows the 14-byte file header must be a known one.
        if (data.Length >= 18 && data[0] == (byte)'B' && data[1] == (byte)'M')
        {
            uint dibSize = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
            if (dibSize is 12 or 16 or 40 or 52 or 56 or 64 or 108 or 124)
            {
                return ImageFormatKind.Bmp;
            }
        }

        return ImageFormatKind.Unknown;
    }

    public static string Name(ImageFormatKind format) => format switch
    {
        ImageFormatKind.Jpeg => "jpeg",
        ImageFormatKind.Png => "png",
        ImageFormatKind.Gif => "gif",
        ImageFormatKind.Bmp => "bmp",
        ImageFormatKind.Webp => "webp",
        _ => "unknown",
    };

    /// <summary>
    /// Walks a JPEG's marker segments up to the first scan: the frame's components and sampling factors, the colour
    /// transform markers, and whether the file is complete. A JPEG is complete when an end-of-image marker follows its
    /// first scan header; entropy-coded data cannot contain FF D9 (a data FF is always stuffed as FF 00), so the first
    /// FF D9 after the scan header is the real end.
    /// </summary>
    public static JpegLayout ReadJpegLayout(ReadOnlySpan<byte> data)
    {
        var layout = new JpegLayout { AdobeTransform = -1 };
        int pos = 2;
        while (pos + 1 < data.Length)
        {
            if (data[pos] != 0xFF)
            {
                return layout;
            }

            byte marker = data[pos + 1];
            if (marker == 0xFF)
            {
                pos++; // fill byte before a marker
                continue;
            }

            if (marker is 0x01 or 0xD8 or (>= 0xD0 and <= 0xD7))
            {
                pos += 2; // markers without a length
                continue;
            }

            if (marker == 0xD9 || pos + 3 >= data.Length)
            {
                return layout; // image ended before any scan, or the header is cut
            }

            int length = (data[pos + 2] << 8) | data[pos + 3];
            int next = pos + 2 + length;
            if (length < 2 || next > data.Length)
            {
                return layout;
            }

            var segment = data[(pos + 4)..next];
            switch (marker)
            {
                case 0xDA:
                    layout.Complete = data[next..].IndexOf(EndOfImage) >= 0;
                    return layout;
                case 0xE0 when segment.StartsWith("JFIF\0"u8):
                    layout.HasJfif = true;
                    break;
                case 0xEE when segment.Length >= 12 && segment.StartsWith("Adobe"u8):
                    layout.AdobeTransform = segment[11];
                    break;
                case >= 0xC0 and <= 0xCF when marker is not (0xC4 or 0xC8 or 0xCC) && segment.Length >= 6:
                    layout.Progressive = marker is 0xC2 or 0xC6 or 0xCA or 0xCE;
                    layout.Components = segment[5];
                    if (layout.Components == 3 && segment.Length >= 6 + 9)
                    {
                        layout.ComponentIds = (segment[6], segment[9], segment[12]);
                        layout.Sampling = (segment[7], segment[10], segment[13]);
                    }

                    break;
            }

            pos = next;
        }

        return layout;
    }

    /// <summary>
    /// An extended WebP (VP8X chunk) whose animation flag is set. ImageSharp decodes every frame of those, so a few
    /// kilobytes of near-empty frames could ask for gigabytes; they are refused rather than bounded frame by frame.
    /// </summary>
    public static bool IsAnimatedWebp(ReadOnlySpan<byte> data) =>
        data.Length >= 21 && data.Slice(12, 4).SequenceEqual("VP8X"u8) && (data[20] & 0x02) != 0;

    /// <summary>
    /// A GIF is complete when its blocks, each inside the file, lead through the first image's data to that data's
    /// block terminator. Only the first frame is decoded, so later frames and the trailer may be missing (PIL reads such
    /// a file too); a first frame cut short is not (ImageSharp would fill it in with the background).
    /// </summary>
    public static bool IsCompleteGif(ReadOnlySpan<byte> data)
    {
        const int screenDescriptorEnd = 13;
        if (data.Length < screenDescriptorEnd)
        {
            return false;
        }

        long pos = screenDescriptorEnd + ColourTableLength(data[10]);
        while (pos < data.Length)
        {
            switch (data[(int)pos])
            {
                case 0x21: // extension: label, then sub-blocks
                    pos = SkipSubBlocks(data, pos + 2);
                    break;
                case 0x2C: // image descriptor, optional local colour table, LZW code size, then the image data's sub-blocks
                    if (pos + 10 > data.Length)
                    {
                        return false;
                    }

                    pos += 10 + ColourTableLength(data[(int)pos + 9]) + 1;
                    return SkipSubBlocks(data, pos) <= data.Length;
                default: // the trailer before any image, or garbage
                    return false;
            }
        }

        return false;

        static long ColourTableLength(byte flags) => (flags & 0x80) != 0 ? 3L << ((flags & 7) + 1) : 0;

        // The position after the terminating empty sub-block, or past the end when the file ends first.
        static long SkipSubBlocks(ReadOnlySpan<byte> data, long pos)
        {
            while (pos < data.Length)
            {
                byte size = data[(int)pos];
                pos += 1 + size;
                if (size == 0)
                {
                    return pos;
                }
            }

            return long.MaxValue;
        }
    }

    /// <summary>
    /// A WebP is complete when the RIFF container's declared size fits in the file and every chunk in it fits in the
    /// container (ImageSharp decodes a VP8 frame cut to a few bytes into an image of noise).
    /// </summary>
    public static bool IsCompleteWebp(ReadOnlySpan<byte> data)
    {
        long end = 8L + BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (end > data.Length)
        {
            return false;
        }

        long pos = 12;
        while (pos + 8 <= end)
        {
            long size = BinaryPrimitives.ReadUInt32LittleEndian(data[((int)pos + 4)..]);
            pos += 8 + size + (size & 1);
        }

        // The last chunk may omit its padding byte.
        return pos == end || pos == end + 1;
    }

    /// <summary>The canvas a VP8X (extended) WebP declares; null for a simple WebP.</summary>
    public static (int Width, int Height)? WebpCanvas(ReadOnlySpan<byte> data) =>
        data.Length >= 30 && data.Slice(12, 4).SequenceEqual("VP8X"u8)
            ? (1 + (data[24] | (data[25] << 8) | (data[26] << 16)), 1 + (data[27] | (data[28] << 8) | (data[29] << 16)))
            : null;

    /// <summary>
    /// Checks what ImageSharp's WebP decoder trusts but libwebp (PIL) verifies: the VP8X canvas of a still image is the
    /// size of its bitstream, and a lossy (VP8) key frame's first partition is long enough to hold a mode for every
    /// macroblock. ImageSharp decodes a frame without noticing that its data ran out and never polls the cancellation
    /// token while doing so, so without this a 200-byte file declaring 7008×2050 pixels cost seconds of CPU that the
    /// decode timeout could not stop (found by fuzzing; libwebp refuses it at the first macroblock row).
    /// </summary>
    public static bool IsConsistentWebp(ReadOnlySpan<byte> data)
    {
        // Only what the RIFF container holds counts: libwebp reads no further, so a frame after its end is not there.
        long riffEnd = 8L + BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (riffEnd < data.Length)
        {
            data = data[..(int)riffEnd];
        }

        (int Width, int Height)? canvas = null;
        int pos = 12;
        while (pos + 8 <= data.Length)
        {
            var fourCc = data.Slice(pos, 4);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + 4)..]);
            if (size > (uint)(data.Length - pos - 8))
            {
                return false;
            }

            var chunk = data.Slice(pos + 8, (int)size);
            if (fourCc.SequenceEqual("VP8X"u8))
            {
                if (chunk.Length < 10)
                {
                    return false;
                }

                canvas = (ReadUInt24(chunk[4..]) + 1, ReadUInt24(chunk[7..]) + 1);
            }
            else if (fourCc.SequenceEqual("VP8 "u8) || fourCc.SequenceEqual("VP8L"u8))
            {
                var frame = fourCc[3] == (byte)'L' ? ReadVp8LSize(chunk) : ReadVp8Size(chunk);
                return frame is { } f && (canvas is null || canvas == f);
            }

            pos += 8 + (int)size + (int)(size & 1); // chunks are padded to an even length
        }

        return false; // no image data
    }

    private static int ReadUInt24(ReadOnlySpan<byte> data) => data[0] | (data[1] << 8) | (data[2] << 16);

    private static (int, int)? ReadVp8LSize(ReadOnlySpan<byte> chunk)
    {
        if (chunk.Length < 5 || chunk[0] != 0x2F)
        {
            return null;
        }

        uint bits = BinaryPrimitives.ReadUInt32LittleEndian(chunk[1..]);
        return ((int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
    }

    private static (int, int)? ReadVp8Size(ReadOnlySpan<byte> chunk)
    {
        // RFC 6386 §9.1: a 3-byte frame tag (bit 0 clear for a key frame, bits 5–23 the first partition's length),
        // the start code 9D 01 2A, then 14-bit width and height each with a 2-bit scale.
        if (chunk.Length < 10 || (chunk[0] & 1) != 0 || chunk[3] != 0x9D || chunk[4] != 0x01 || chunk[5] != 0x2A)
        {
            return null;
        }

        int firstPartition = ReadUInt24(chunk) >> 5;
        int width = BinaryPrimitives.ReadUInt16LittleEndian(chunk[6..]) & 0x3FFF;
        int height = BinaryPrimitives.ReadUInt16LittleEndian(chunk[8..]) & 0x3FFF;
        long macroblocks = (long)((width + 15) / 16) * ((height + 15) / 16);

        // The first partition codes each macroblock's luma and chroma modes with fixed key-frame probabilities
        // (RFC 6386 §11.2): at least about 2.4 bits a macroblock whatever the content. Requiring 1 bit leaves a wide
        // margin for valid files and still refuses a header that promises far more pixels than its data can hold.
        bool fits = 10L + firstPartition <= chunk.Length;
        bool plausible = firstPartition * 8L >= macroblocks;
        return fits && plausible ? (width, height) : null;
    }

    /// <summary>
    /// A BMP is whole when its pixel data starts inside the file and, uncompressed (BI_RGB, or bit fields), its pixel
    /// depth is a real one and the file holds every row its header declares.
    /// ImageSharp decodes the missing rows as zeros and PIL refuses the file as truncated; left alone, 56 bytes
    /// declaring 4624×5876 pixels were accepted as an image after half a second of decoding (found by fuzzing).
    /// Run-length and other encodings cannot be sized from the header and are left to the decoder.
    /// </summary>
    public static bool IsWholeBmp(ReadOnlySpan<byte> data)
    {
        if (data.Length < 18)
        {
            return false;
        }

        uint dibSize = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        long width, height;
        int bitsPerPixel;
        uint compression = 0;
        if (dibSize == 12)
        {
            // OS/2 1.x core header: 16-bit width and height, then planes and bit count.
            if (data.Length < 26)
            {
                return false;
            }

            width = BinaryPrimitives.ReadUInt16LittleEndian(data[18..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(data[20..]);
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(data[24..]);
        }
        else
        {
            if (data.Length < 14 + Math.Min(dibSize, 40u))
            {
                return false;
            }

            width = BinaryPrimitives.ReadInt32LittleEndian(data[18..]);
            height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[22..])); // negative: rows top-down
            bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(data[28..]);
            if (dibSize >= 20)
            {
                compression = BinaryPrimitives.ReadUInt32LittleEndian(data[30..]);
            }
        }

        // Every encoding's pixel data, compressed or not, starts inside the file.
        if (offset >= data.Length)
        {
            return false;
        }

        // 3 and 6 are bit fields in Windows headers but Huffman and RLE24 in OS/2 2.x ones (16 and 64 bytes).
        bool uncompressed = compression == 0 || (compression is 3 or 6 && dibSize is not (16 or 64));
        if (!uncompressed || width < 1 || height < 1)
        {
            return true;
        }

        // ImageSharp makes something of any bit count (the fuzzer had 61441 bits a pixel decode as 5 megapixels from
        // 63 bytes); PIL refuses all but the real depths.
        if (bitsPerPixel is not (1 or 2 or 4 or 8 or 16 or 24 or 32))
        {
            return false;
        }

        // Rows are padded to 4 bytes; the last one is allowed to end without its padding.
        // Divided rather than multiplied: a header's width and height multiply past a long.
        long stride = ((width * bitsPerPixel) + 31) / 32 * 4;
        long available = data.Length - offset;
        if (height - 1 > available / stride)
        {
            return false;
        }

        return (stride * (height - 1)) + (((width * bitsPerPixel) + 7) / 8) <= available;
    }

    /// <summary>A PNG is complete when its chunks, each inside the file, lead to IEND.</summary>
    public static bool IsCompletePng(ReadOnlySpan<byte> data)
    {
        long pos = PngSignature.Length;
        while (pos + 12 <= data.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[(int)pos..]);
            if (length > int.MaxValue)
            {
                return false;
            }

            if (data.Slice((int)pos + 4, 4).SequenceEqual("IEND"u8))
            {
                return true;
            }

            pos += 12L + length;
        }

        return false;
    }
}

/// <summary>What a JPEG's headers say about its frame, as far as colour reconstruction needs.</summary>
internal struct JpegLayout
{
    /// <summary>An end-of-image marker follows the first scan.</summary>
    public bool Complete;

    public bool Progressive;

    public int Components;

    /// <summary>Component ids of a 3-component frame.</summary>
    public (byte Y, byte Cb, byte Cr) ComponentIds;

    /// <summary>Sampling bytes (H in the high nibble, V in the low) of a 3-component frame.</summary>
    public (byte Y, byte Cb, byte Cr) Sampling;

    public bool HasJfif;

    /// <summary>The Adobe APP14 transform flag, −1 without that marker.</summary>
    public int AdobeTransform;

    /// <summary>
    /// libjpeg's reading of the colour space of a 3-component frame: YCbCr unless an Adobe marker says transform 0,
    /// or there is neither a JFIF nor an Adobe marker and the component ids spell R, G, B.
    /// </summary>
    public readonly bool IsYCbCr => Components == 3 && (HasJfif || AdobeTransform switch
    {
        0 => false,
        > 0 => true,
        _ => ComponentIds != ((byte)'R', (byte)'G', (byte)'B'),
    });

    /// <summary>Luma sampled 2×2 or 2×1 relative to both chroma components (4:2:0 or 4:2:2).</summary>
    public readonly (int H, int V) ChromaSubsampling =>
        IsYCbCr && Sampling.Cb == 0x11 && Sampling.Cr == 0x11 && Sampling.Y is 0x22 or 0x21
            ? (Sampling.Y >> 4, Sampling.Y & 0xF)
            : (1, 1);
}
