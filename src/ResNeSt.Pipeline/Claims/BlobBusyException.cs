namespace ResNeSt.Pipeline.Claims;

/// <summary>
/// This blob version cannot be worked on right now because of other invocations (not because of storage or the
/// image). Thrown, not swallowed, so that this delivery is retried later and then finds the result, instead of being
/// dropped if the other invocation fails.
/// </summary>
public class BlobBusyException : Exception
{
    public BlobBusyException()
    {
    }

    public BlobBusyException(string message)
        : base(message)
    {
    }

    public BlobBusyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
