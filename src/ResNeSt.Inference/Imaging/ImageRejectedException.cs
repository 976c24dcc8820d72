namespace ResNeSt.Inference.Imaging;

/// <summary>Why an upload cannot be classified. These are permanent: retrying the same bytes gives the same answer.</summary>
public enum ImageRejectionReason
{
    /// <summary>Zero bytes.</summary>
    Empty,
    /// <summary>More bytes than the configured limit.</summary>
    TooLarge,
    /// <summary>The bytes are not one of the allowed formats (identified from the bytes, never the name).</summary>
    UnsupportedFormat,
    /// <summary>The header declares more pixels (or a larger side) than the pixel budget allows.</summary>
    PixelBudgetExceeded,
    /// <summary>The header is readable but the image data is damaged or truncated.</summary>
    Corrupt,
    /// <summary>Decoding took longer than the per-image limit.</summary>
    DecodeTimeout,
    /// <summary>The image's compressed metadata (PNG text or colour profile chunks) inflates past its limit.</summary>
    MetadataTooLarge,
}

/// <summary>The one error a bad image may produce: a reason code and a human-readable explanation.</summary>
public sealed class ImageRejectedException(ImageRejectionReason reason, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public ImageRejectionReason Reason { get; } = reason;

    /// <summary>Stable machine-readable code, e.g. <c>unsupported_format</c>.</summary>
    public string Code => ReasonCode(Reason);

    public static string ReasonCode(ImageRejectionReason reason) => reason switch
    {
        ImageRejectionReason.Empty => "empty",
        ImageRejectionReason.TooLarge => "too_large",
        ImageRejectionReason.UnsupportedFormat => "unsupported_format",
        ImageRejectionReason.PixelBudgetExceeded => "pixel_budget_exceeded",
        ImageRejectionReason.Corrupt => "corrupt",
        ImageRejectionReason.DecodeTimeout => "decode_timeout",
        ImageRejectionReason.MetadataTooLarge => "metadata_too_large",
        _ => "rejected",
    };
}
