namespace ResNeSt.Pipeline.Redrive;

/// <summary>
/// Error codes of results recorded for uploads the host gave up on. Unlike an image's own failure (corrupt, too large,
/// ...), these say nothing about the image: such a result is not final, and the next delivery or re-drive of the same
/// blob version classifies it again.
/// </summary>
public static class UndeliveredReasons
{
    /// <summary>The model could not be loaded while the host retried the upload; it is re-driven once the model loads.</summary>
    public const string ModelUnavailable = "model_unavailable";

    /// <summary>Every attempt failed for another reason (storage outage, a crash); re-driven like the above.</summary>
    public const string DeliveryFailed = "delivery_failed";

    public static bool IsUndelivered(string? errorCode) => errorCode is ModelUnavailable or DeliveryFailed;
}
