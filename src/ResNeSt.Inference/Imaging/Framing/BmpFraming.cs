using System.Buffers.Binary;

namespace ResNeSt.Inference.Imaging.Framing;

/// <summary>BMP: "BM", a 14-byte file header, then a DIB header of a known size and the pixel data.</summary>
internal sealed class BmpFraming : IFormatFraming
{
    public static BmpFraming Instance { get; } = new();

    private BmpFraming()
    {
    }

    public ImageFormatKind Kind => ImageFormatKind.Bmp;

    public string Name => "bmp";

    public string IncompleteMessage => "The bmp pixel data is shorter than its header declares, or its pixel depth is not a real one.";

    /// <summary>"BM" alone matches plenty of text; the DIB header size that follows the 14-byte file header must be a known one.</summary>
    public bool Matches(ReadOnlySpan<byte> data) =>
        data.Length >= 18 && data[0] == (byte)'B' && data[1] == (byte)'M'
        && BinaryPrimitives.ReadUInt32LittleEndian(data[14..]) is 12 or 16 or 40 or 52 or 56 or 64 or 108 or 124;

    /// <summary>
    /// A BMP is whole when its pixel data starts inside the file and, uncompressed (BI_RGB, or bit fields), its pixel
    /// depth is a real one and the file holds every row its header declares.
    /// ImageSharp decodes the missing rows as zeros and PIL refuses the file as truncated; left alone, 56 bytes
    /// declaring 4624×5876 pixels were accepted as an image after half a second of decoding (found by fuzzing).
    /// Run-length and other encodings cannot be sized from the header and are left to the decoder.
    /// </summary>
    public bool IsComplete(ReadOnlySpan<byte> data)
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
}
