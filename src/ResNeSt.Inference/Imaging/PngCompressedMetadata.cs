using System.Buffers.Binary;
using System.IO.Compression;

namespace ResNeSt.Inference.Imaging;

/// <summary>
/// Bounds what a PNG's compressed ancillary chunks (zTXt, compressed iTXt, iCCP) inflate to, before ImageSharp reads
/// the file. ImageSharp 2.1.13 inflates every one of them into memory during <c>Identify</c>, outside its allocator
/// limit and without polling cancellation: a valid 1×1 PNG of 2.1 MB cost 36 s and 3.65 GiB. ImageSharp capped this
/// only in 3.1.3; PIL refuses a text chunk that inflates past 1 MiB ("Decompressed Data Too Large").
/// The walk inflates each chunk into a small scratch buffer and counts, stopping at the cap, so its own cost is bounded
/// by the cap too.
/// </summary>
internal static class PngCompressedMetadata
{
    /// <summary>Largest inflated size of one chunk: PIL's <c>MAX_TEXT_CHUNK</c>.</summary>
    public const int MaxChunkBytes = 1 << 20;

    /// <summary>Most compressed ancillary chunks a file may carry (each costs an inflater; real files have one or two).</summary>
    public const int MaxChunks = 64;

    /// <summary>
    /// Null when every compressed ancillary chunk inflates within the limits, else why not. The PNG's chunk framing must
    /// already have been checked (<see cref="Framing.PngFraming.IsComplete"/>). A chunk whose zlib data is damaged
    /// counts what it inflated before the damage; the decoder judges the damage itself.
    /// </summary>
    public static string? FindExcess(ReadOnlySpan<byte> png, long maxTotalBytes)
    {
        long total = 0;
        int chunks = 0;
        int pos = 8;
        while (pos + 12 <= png.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            var type = png.Slice(pos + 4, 4);
            if (type.SequenceEqual("IEND"u8) || pos + 12L + length > png.Length)
            {
                break;
            }

            var data = png.Slice(pos + 8, length);
            int compressedAt = CompressedPayloadOffset(type, data);
            if (compressedAt >= 0)
            {
                if (++chunks > MaxChunks)
                {
                    return $"The png has more than {MaxChunks} compressed metadata chunks.";
                }

                long allowed = Math.Min(MaxChunkBytes, maxTotalBytes - total);
                long inflated = InflatedLength(data[compressedAt..], allowed + 1);
                if (inflated > allowed)
                {
                    return inflated > MaxChunkBytes
                        ? $"A png {System.Text.Encoding.ASCII.GetString(type)} chunk inflates past {MaxChunkBytes} bytes."
                        : $"The png metadata inflates past {maxTotalBytes} bytes.";
                }

                total += inflated;
            }

            pos += 12 + length;
        }

        return null;
    }

    /// <summary>Where the zlib data of a compressed chunk starts; −1 for a chunk that holds none.</summary>
    private static int CompressedPayloadOffset(ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        // zTXt and iCCP: a keyword (or profile name), NUL, the compression method, then zlib data.
        if (type.SequenceEqual("zTXt"u8) || type.SequenceEqual("iCCP"u8))
        {
            int nul = data.IndexOf((byte)0);
            return nul >= 0 && nul + 2 <= data.Length ? nul + 2 : -1;
        }

        // iTXt: keyword, NUL, compression flag, method, language tag, NUL, translated keyword, NUL, then the text,
        // which is zlib data only when the flag is set.
        if (type.SequenceEqual("iTXt"u8))
        {
            int keywordEnd = data.IndexOf((byte)0);
            if (keywordEnd < 0 || keywordEnd + 3 > data.Length || data[keywordEnd + 1] == 0)
            {
                return -1;
            }

            int at = keywordEnd + 3;
            for (int field = 0; field < 2; field++)
            {
                int nul = data[at..].IndexOf((byte)0);
                if (nul < 0)
                {
                    return -1;
                }

                at += nul + 1;
            }

            return at;
        }

        return -1;
    }

    /// <summary>How many bytes the zlib stream inflates to, counted up to <paramref name="stopAt"/>.</summary>
    private static unsafe long InflatedLength(ReadOnlySpan<byte> zlib, long stopAt)
    {
        // Nothing to inflate; and 'fixed' on an empty span gives a null pointer, which UnmanagedMemoryStream refuses
        // (ArgumentNullException, found by fuzzing: a zTXt chunk that ends right after its compression method).
        if (zlib.IsEmpty)
        {
            return 0;
        }

        Span<byte> scratch = stackalloc byte[4096];
        long inflated = 0;
        fixed (byte* p = zlib)
        {
            using var source = new UnmanagedMemoryStream(p, zlib.Length);
            using var inflater = new ZLibStream(source, CompressionMode.Decompress);
            try
            {
                int read;
                while (inflated < stopAt && (read = inflater.Read(scratch)) > 0)
                {
                    inflated += read;
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                // Damaged zlib data (a bad header throws ZLibException, an IOException, rather than InvalidDataException;
                // found by fuzzing): what inflated so far is what counts, and the decoder judges the damage itself.
            }
        }

        return inflated;
    }
}
