using System.Buffers.Binary;

namespace ResNeSt.Inference.Imaging.Framing;

/// <summary>PNG: the 8-byte signature, then length-prefixed chunks up to IEND.</summary>
internal sealed class PngFraming : IFormatFraming
{
    public static PngFraming Instance { get; } = new();

    private PngFraming()
    {
    }

    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public ImageFormatKind Kind => ImageFormatKind.Png;

    public string Name => "png";

    public string IncompleteMessage => "The png data is truncated.";

    public bool Matches(ReadOnlySpan<byte> data) => data.StartsWith(Signature);

    /// <summary>A PNG is complete when its chunks, each inside the file, lead to IEND.</summary>
    public bool IsComplete(ReadOnlySpan<byte> data)
    {
        long pos = Signature.Length;
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
