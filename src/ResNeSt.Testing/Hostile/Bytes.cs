using System.Buffers.Binary;
using System.IO.Compression;

namespace ResNeSt.Testing.Hostile;

/// <summary>Byte-level builders for crafting files: PNG chunks with valid CRCs, zlib streams, JPEG segments, GIF LZW.</summary>
internal static class Bytes
{
    private static readonly uint[] s_crcTable = CreateCrcTable();

    public static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>CRC-32 as PNG and zip use it (reflected polynomial 0xEDB88320).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc = s_crcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] CreateCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }

    /// <summary>Writes one PNG chunk: length, type, data and the CRC over type and data.</summary>
    public static void PngChunk(Stream output, string type, ReadOnlySpan<byte> data, bool validCrc = true)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        var typeAndData = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++)
        {
            typeAndData[i] = (byte)type[i];
        }

        data.CopyTo(typeAndData.AsSpan(4));
        output.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData) ^ (validCrc ? 0u : 0xFFFFFFFFu));
        output.Write(word);
    }

    public static byte[] Ihdr(uint width, uint height, byte bitDepth, byte colorType, byte interlace = 0)
    {
        var data = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(data, width);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), height);
        data[8] = bitDepth;
        data[9] = colorType;
        data[12] = interlace;
        return data;
    }

    /// <summary>A whole PNG from an IHDR and the zlib stream of its image data (split into IDAT chunks of 64 KiB).</summary>
    public static byte[] Png(byte[] ihdr, ReadOnlySpan<byte> zlib, Action<Stream>? beforeIdat = null, Action<Stream>? afterIend = null)
    {
        using var output = new MemoryStream();
        output.Write(PngSignature);
        PngChunk(output, "IHDR", ihdr);
        beforeIdat?.Invoke(output);
        for (int offset = 0; offset < zlib.Length; offset += 65536)
        {
            PngChunk(output, "IDAT", zlib.Slice(offset, Math.Min(65536, zlib.Length - offset)));
        }

        PngChunk(output, "IEND", []);
        afterIend?.Invoke(output);
        return output.ToArray();
    }

    /// <summary>The zlib stream of <paramref name="length"/> zero bytes, produced in 1 MiB steps (a bomb's payload).</summary>
    public static byte[] ZlibZeros(long length)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (long written = 0; written < length; written += zeros.Length)
            {
                zlib.Write(zeros, 0, (int)Math.Min(zeros.Length, length - written));
            }
        }

        return output.ToArray();
    }

    public static byte[] Zlib(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Offsets of every JPEG marker segment (FF xx with a length) before the first scan's data.</summary>
    public static List<(byte Marker, int Offset, int Length)> JpegSegments(ReadOnlySpan<byte> jpeg)
    {
        var segments = new List<(byte, int, int)>();
        int pos = 2;
        while (pos + 4 <= jpeg.Length && jpeg[pos] == 0xFF)
        {
            byte marker = jpeg[pos + 1];
            int length = (jpeg[pos + 2] << 8) | jpeg[pos + 3];
            segments.Add((marker, pos, length));
            if (marker == 0xDA)
            {
                break;
            }

            pos += 2 + length;
        }

        return segments;
    }

    /// <summary>The offset of the first segment with <paramref name="marker"/>; throws when there is none.</summary>
    public static int JpegSegment(ReadOnlySpan<byte> jpeg, byte marker) =>
        JpegSegments(jpeg).First(s => s.Marker == marker).Offset;

    /// <summary>Any SOF segment (baseline, extended, progressive or lossless).</summary>
    public static int JpegFrame(ReadOnlySpan<byte> jpeg) =>
        JpegSegments(jpeg).First(s => s.Marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC)).Offset;

    /// <summary>
    /// GIF LZW data (sub-blocks, terminator included) for <paramref name="count"/> pixels of colour index 0, encoded
    /// with the real algorithm: a uniform image is the best case for LZW, so a few kilobytes describe megapixels.
    /// </summary>
    public static byte[] GifLzwUniform(long count, int minCodeSize = 2)
    {
        var packed = new List<byte>();
        int clear = 1 << minCodeSize;
        int end = clear + 1;
        int codeSize = minCodeSize + 1;
        int next = end + 1;
        int bitBuffer = 0;
        int bitCount = 0;
        void Emit(int code)
        {
            bitBuffer |= code << bitCount;
            bitCount += codeSize;
            while (bitCount >= 8)
            {
                packed.Add((byte)bitBuffer);
                bitBuffer >>= 8;
                bitCount -= 8;
            }
        }

        // For a run of one index the dictionary is a chain: code for "0" × k is known from k alone.
        Emit(clear);
        int longest = 1; // the longest string currently in the dictionary, as a count of pixels
        int longestCode = 0;
        long remaining = count;
        while (remaining > 0)
        {
            int take = (int)Math.Min(longest, remaining);
            int code = take == 1 ? 0 : CodeForRun(take);
            Emit(code);
            remaining -= take;
            if (next < 4096 && take == longest)
            {
                longest++;
                longestCode = next;
                next++;
                if (next > (1 << codeSize) && codeSize < 12)
                {
                    codeSize++;
                }
            }
        }

        Emit(end);
        if (bitCount > 0)
        {
            packed.Add((byte)bitBuffer);
        }

        var output = new List<byte> { (byte)minCodeSize };
        for (int i = 0; i < packed.Count; i += 255)
        {
            int n = Math.Min(255, packed.Count - i);
            output.Add((byte)n);
            output.AddRange(packed.GetRange(i, n));
        }

        output.Add(0);
        return output.ToArray();

        int CodeForRun(int length) => length == longest ? longestCode : end + length - 1;
    }
}
