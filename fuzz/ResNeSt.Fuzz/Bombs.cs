using System.Buffers.Binary;
using System.IO.Compression;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Fuzz;

/// <summary>
/// Files as expensive as the pixel budget lets them be: each format at 6324×6324 (just under 40 megapixels), most of
/// them a few hundred bytes. Replaying them shows which decoders the decode timeout can stop (ImageSharp 2.1.13 polls
/// the cancellation token only in the JPEG decoder) and what the others cost when they run to the end.
/// </summary>
internal static class Bombs
{
    private const int Side = 6324;

    public static int Write(string outDir, TextWriter output)
    {
        Directory.CreateDirectory(outDir);
        void Save(string name, byte[] bytes)
        {
            File.WriteAllBytes(Path.Combine(outDir, name), bytes);
            output.WriteLine($"{name}: {bytes.Length} bytes");
        }

        Save("bmp-rle8-empty.bmp", RleBmp());
        Save("gif-empty-lzw.gif", EmptyGif());
        Save("png-zeros.png", ZeroPng());
        using var flat = new Image<Rgb24>(Side, Side, new Rgb24(90, 120, 200));
        Save("jpeg-flat.jpg", Encode(flat, new JpegEncoder { Quality = 50, ColorType = JpegColorType.YCbCrRatio420 }));
        Save("webp-lossless-flat.webp", Encode(flat, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless, Method = WebpEncodingMethod.Fastest }));
        Save("webp-lossy-flat.webp", Encode(flat, new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = 1, Method = WebpEncodingMethod.Fastest }));

        return 0;
    }

    private static byte[] Encode(Image image, IImageEncoder encoder)
    {
        using var buffer = new MemoryStream();
        image.Save(buffer, encoder);
        return buffer.ToArray();
    }

    /// <summary>An 8-bit RLE BMP whose first code is end-of-bitmap: 64 bytes for 40 megapixels.</summary>
    private static byte[] RleBmp()
    {
        var bmp = new byte[14 + 40 + 8 + 2];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 14 + 40 + 8);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), Side);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), Side);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 8);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(30), 1); // BI_RLE8
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(46), 2); // two palette entries
        bmp[54 + 4] = 0xFF; // palette: black, white
        bmp[54 + 5] = 0xFF;
        bmp[54 + 6] = 0xFF;
        bmp[^1] = 1; // 00 01: end of bitmap
        return bmp;
    }

    /// <summary>A GIF whose one frame covers the screen and whose LZW data is a clear code and an end code.</summary>
    private static byte[] EmptyGif()
    {
        using var gif = new MemoryStream();
        gif.Write("GIF89a"u8);
        Span<byte> screen = stackalloc byte[7];
        BinaryPrimitives.WriteUInt16LittleEndian(screen, Side);
        BinaryPrimitives.WriteUInt16LittleEndian(screen[2..], Side);
        screen[4] = 0x80; // global colour table of 2 entries
        gif.Write(screen);
        gif.Write([0, 0, 0, 255, 255, 255]);
        Span<byte> descriptor = stackalloc byte[10];
        descriptor[0] = 0x2C;
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[5..], Side);
        BinaryPrimitives.WriteUInt16LittleEndian(descriptor[7..], Side);
        gif.Write(descriptor);
        gif.Write([2, 1, 0x44, 0, 0x3B]); // min code size 2; one sub-block holding clear (4) then end (5); trailer
        return gif.ToArray();
    }

    /// <summary>An RGB PNG of zeros: every row filter 0 and zero samples, deflated (about 1 byte per 1000 pixels).</summary>
    private static byte[] ZeroPng()
    {
        using var deflated = new MemoryStream();
        using (var zlib = new ZLibStream(deflated, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[1 + (Side * 3)];
            for (int y = 0; y < Side; y++)
            {
                zlib.Write(row);
            }
        }

        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, Side);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), Side);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        WriteChunk(png, "IHDR"u8, header);
        WriteChunk(png, "IDAT"u8, deflated.ToArray());
        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream png, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        png.Write(type);
        png.Write(data);
        var crc = new Crc32Png();
        crc.Append(type);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.Value);
        png.Write(word);
    }

    /// <summary>The CRC-32 PNG chunks carry (ISO 3309, reflected 0xEDB88320).</summary>
    private sealed class Crc32Png
    {
        private uint _crc = 0xFFFFFFFF;

        public uint Value => ~_crc;

        public void Append(ReadOnlySpan<byte> data)
        {
            foreach (byte b in data)
            {
                _crc ^= b;
                for (int k = 0; k < 8; k++)
                {
                    _crc = (_crc & 1) != 0 ? 0xEDB88320 ^ (_crc >> 1) : _crc >> 1;
                }
            }
        }
    }
}
