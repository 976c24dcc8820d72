namespace ResNeSt.Inference.Imaging.Framing;

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
