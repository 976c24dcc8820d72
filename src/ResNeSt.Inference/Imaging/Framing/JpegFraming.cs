namespace ResNeSt.Inference.Imaging.Framing;

/// <summary>JPEG: FF D8 FF, then marker segments up to the first scan, its entropy-coded data and FF D9.</summary>
internal sealed class JpegFraming : IFormatFraming
{
    public static JpegFraming Instance { get; } = new();

    private JpegFraming()
    {
    }

    private static ReadOnlySpan<byte> EndOfImage => [0xFF, 0xD9];

    public ImageFormatKind Kind => ImageFormatKind.Jpeg;

    public string Name => "jpeg";

    public string IncompleteMessage => "The jpeg data is truncated.";

    public bool Matches(ReadOnlySpan<byte> data) => data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    public bool IsComplete(ReadOnlySpan<byte> data) => ReadLayout(data).Complete;

    /// <summary>
    /// Walks a JPEG's marker segments up to the first scan: the frame's components and sampling factors, the colour
    /// transform markers, and whether the file is complete. A JPEG is complete when an end-of-image marker follows its
    /// first scan header; entropy-coded data cannot contain FF D9 (a data FF is always stuffed as FF 00), so the first
    /// FF D9 after the scan header is the real end.
    /// </summary>
    public static JpegLayout ReadLayout(ReadOnlySpan<byte> data)
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
}
