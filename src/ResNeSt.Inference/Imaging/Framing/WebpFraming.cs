using System.Buffers.Binary;

namespace ResNeSt.Inference.Imaging.Framing;

/// <summary>WebP: a RIFF container of type WEBP holding a VP8, VP8L or extended (VP8X) image.</summary>
internal sealed class WebpFraming : IFormatFraming
{
    public static WebpFraming Instance { get; } = new();

    private WebpFraming()
    {
    }

    public ImageFormatKind Kind => ImageFormatKind.Webp;

    public string Name => "webp";

    public string IncompleteMessage => "The webp data is truncated.";

    public bool Matches(ReadOnlySpan<byte> data) => data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8);

    /// <summary>
    /// A WebP is complete when the RIFF container's declared size fits in the file and every chunk in it fits in the
    /// container (ImageSharp decodes a VP8 frame cut to a few bytes into an image of noise).
    /// </summary>
    public bool IsComplete(ReadOnlySpan<byte> data)
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

    /// <summary>
    /// An extended WebP (VP8X chunk) whose animation flag is set. ImageSharp decodes every frame of those, so a few
    /// kilobytes of near-empty frames could ask for gigabytes; they are refused rather than bounded frame by frame.
    /// </summary>
    public static bool IsAnimated(ReadOnlySpan<byte> data) =>
        data.Length >= 21 && data.Slice(12, 4).SequenceEqual("VP8X"u8) && (data[20] & 0x02) != 0;

    /// <summary>The canvas a VP8X (extended) WebP declares; null for a simple WebP.</summary>
    public static (int Width, int Height)? Canvas(ReadOnlySpan<byte> data) =>
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
    public static bool IsConsistent(ReadOnlySpan<byte> data)
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
}
