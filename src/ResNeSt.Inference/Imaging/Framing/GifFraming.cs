namespace ResNeSt.Inference.Imaging.Framing;

/// <summary>GIF87a or GIF89a: a screen descriptor, then extension and image blocks.</summary>
internal sealed class GifFraming : IFormatFraming
{
    public static GifFraming Instance { get; } = new();

    private GifFraming()
    {
    }

    public ImageFormatKind Kind => ImageFormatKind.Gif;

    public string Name => "gif";

    public string IncompleteMessage => "The gif data is truncated.";

    public bool Matches(ReadOnlySpan<byte> data) => data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8);

    /// <summary>
    /// A GIF is complete when its blocks, each inside the file, lead through the first image's data to that data's
    /// block terminator. Only the first frame is decoded, so later frames and the trailer may be missing (PIL reads such
    /// a file too); a first frame cut short is not (ImageSharp would fill it in with the background).
    /// </summary>
    public bool IsComplete(ReadOnlySpan<byte> data)
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
}
