namespace ResNeSt.Inference.Imaging;

/// <summary>
/// What an upload may cost before it is decoded. Every image is treated as hostile: the byte count, the declared
/// dimensions and the decoder's memory are all bounded so that no single file can exhaust the worker.
/// </summary>
/// <param name="MaxBytes">Largest encoded file accepted.</param>
/// <param name="MaxPixels">Largest width × height the header may declare (decompression bombs are refused before decoding).</param>
/// <param name="MaxSide">Largest width or height the header may declare.</param>
/// <param name="DecoderPoolMegabytes">How much decoder memory ImageSharp may keep pooled between images.</param>
/// <param name="DecodeTimeout">Longest one image may take to decode (null: no limit); a crafted file can be slow.</param>
/// <param name="MaxMetadataBytes">
/// Most bytes a PNG's compressed metadata (zTXt, compressed iTXt, iCCP) may inflate to, all chunks together; one chunk
/// may inflate to at most 1 MiB whatever this says (as in PIL). The decoder inflates metadata outside the pixel budget.
/// </param>
public sealed record ImageLimits(
    long MaxBytes = 32L * 1024 * 1024,
    long MaxPixels = 40_000_000,
    int MaxSide = 16384,
    int DecoderPoolMegabytes = 64,
    TimeSpan? DecodeTimeout = null,
    long MaxMetadataBytes = 4L * 1024 * 1024)
{
    /// <summary>32 MiB, 40 megapixels, 16384 pixels a side.</summary>
    public static ImageLimits Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for limits that cannot work.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBytes, 1, nameof(MaxBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPixels, 1, nameof(MaxPixels));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSide, 1, nameof(MaxSide));
        ArgumentOutOfRangeException.ThrowIfNegative(DecoderPoolMegabytes, nameof(DecoderPoolMegabytes));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxMetadataBytes, nameof(MaxMetadataBytes));
        if (DecodeTimeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DecodeTimeout), timeout, "The decode timeout must be positive.");
        }
        // ImageSharp's allocator limit is expressed in whole megabytes of one buffer; keep it representable.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxPixels, 1L << 36, nameof(MaxPixels));
    }

    /// <summary>
    /// The largest single buffer the decoder may allocate: a decoded image of <see cref="MaxPixels"/> at 8 bytes a pixel
    /// (16-bit RGBA PNG) plus slack for the decoders' own working buffers. Anything larger comes from a lying header.
    /// </summary>
    internal int AllocationLimitMegabytes => (int)Math.Min(int.MaxValue, (MaxPixels * 8 / (1024 * 1024)) + 64);
}
