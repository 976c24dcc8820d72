using System.Text;
using ResNeSt.Inference.Imaging;

namespace ResNeSt.Testing.Hostile;

public static partial class HostileCorpus
{
    private const ImageRejectionReason MetadataTooLarge = ImageRejectionReason.MetadataTooLarge;

    /// <summary>
    /// 1×1 PNGs whose compressed metadata inflates to gigabytes: ImageSharp 2.1.13 inflates every zTXt, compressed iTXt
    /// and iCCP chunk into memory while reading the header (a 2.1 MB file cost 36 s and 3.65 GiB). Plus the legitimate
    /// neighbours: small compressed text and a real-sized colour profile are still classified.
    /// </summary>
    private static void AddMetadataBombs(Builder corpus)
    {
        var pixel = Bytes.Zlib([0, 0x80]); // one grey pixel: filter byte, value
        var ihdr = Bytes.Ihdr(1, 1, 8, 0);
        var hundredMib = Bytes.ZlibZeros(100L << 20); // ~100 KB of zlib
        var oneGib = Bytes.ZlibZeros(1L << 30);

        corpus.Add(HostileClass.MetadataBomb, "png-1x1-20-ztxt-of-100mib", "png",
            Bytes.Png(ihdr, pixel, s => Repeat(s, 20, "zTXt", [.. "Comment"u8, 0, 0, .. hundredMib])), Reject(MetadataTooLarge));
        corpus.Add(HostileClass.MetadataBomb, "png-1x1-ztxt-of-1gib", "png",
            Bytes.Png(ihdr, pixel, s => Bytes.PngChunk(s, "zTXt", [.. "Comment"u8, 0, 0, .. oneGib])), Reject(MetadataTooLarge));
        corpus.Add(HostileClass.MetadataBomb, "png-1x1-20-itxt-of-100mib", "png",
            Bytes.Png(ihdr, pixel, s => Repeat(s, 20, "iTXt", [.. "XML:com.adobe.xmp"u8, 0, 1, 0, .. "en"u8, 0, 0, .. hundredMib])), Reject(MetadataTooLarge));
        corpus.Add(HostileClass.MetadataBomb, "png-1x1-iccp-of-1gib", "png",
            Bytes.Png(ihdr, pixel, s => Bytes.PngChunk(s, "iCCP", [.. "ICC profile"u8, 0, 0, .. oneGib])), Reject(MetadataTooLarge));
        corpus.Add(HostileClass.MetadataBomb, "png-1x1-iccp-after-idat-of-1gib", "png",
            InsertBeforeIend(Bytes.Png(ihdr, pixel), "iCCP", [.. "ICC profile"u8, 0, 0, .. oneGib]), Reject(MetadataTooLarge));

        // Each chunk under the 1 MiB a chunk may inflate to, together over the 4 MiB all may.
        var nineHundredKib = Bytes.ZlibZeros(900 << 10);
        corpus.Add(HostileClass.MetadataBomb, "png-1x1-8-ztxt-of-900kib", "png",
            Bytes.Png(ihdr, pixel, s => Repeat(s, 8, "zTXt", [.. "Comment"u8, 0, 0, .. nineHundredKib])), Reject(MetadataTooLarge));

        // Thousands of tiny compressed chunks: each is cheap, the count is not.
        var tiny = Bytes.Zlib("x"u8);
        corpus.Add(HostileClass.MetadataBomb, "png-1x1-5000-tiny-ztxt", "png",
            Bytes.Png(ihdr, pixel, s => Repeat(s, 5000, "zTXt", [.. "Comment"u8, 0, 0, .. tiny])), Reject(MetadataTooLarge));

        // Legitimate: a compressed comment and a compressed 500 KiB profile-sized chunk are read as before.
        var comment = Bytes.Zlib(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("A small photo. ", 200))));
        corpus.Add(HostileClass.MetadataBomb, "png-1x1-small-ztxt-and-itxt", "png",
            Bytes.Png(ihdr, pixel, s =>
            {
                Bytes.PngChunk(s, "zTXt", [.. "Comment"u8, 0, 0, .. comment]);
                Bytes.PngChunk(s, "iTXt", [.. "Description"u8, 0, 1, 0, .. "en"u8, 0, 0, .. comment]);
            }), HostileExpectation.Classified);
        corpus.Add(HostileClass.MetadataBomb, "png-1x1-iccp-of-500kib", "png",
            Bytes.Png(ihdr, pixel, s => Bytes.PngChunk(s, "iCCP", [.. "ICC profile"u8, 0, 0, .. Bytes.ZlibZeros(500 << 10)])), HostileExpectation.ClassifiedOrAnyRejection);
    }

    private static void Repeat(Stream output, int count, string type, byte[] data)
    {
        for (int i = 0; i < count; i++)
        {
            Bytes.PngChunk(output, type, data);
        }
    }

    /// <summary>The PNG with one more chunk just before its IEND (12 bytes from the end).</summary>
    private static byte[] InsertBeforeIend(byte[] png, string type, byte[] data)
    {
        using var output = new MemoryStream();
        output.Write(png, 0, png.Length - 12);
        Bytes.PngChunk(output, type, data);
        output.Write(png, png.Length - 12, 12);
        return output.ToArray();
    }
}
