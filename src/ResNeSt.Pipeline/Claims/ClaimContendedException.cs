namespace ResNeSt.Pipeline.Claims;

/// <summary>
/// The result row of a blob kept changing under every attempt of <see cref="ResultClaims"/> to claim it or to store the
/// result on it: our own invocations contend for it. Distinct from a storage fault (<c>RequestFailedException</c>),
/// and like any <see cref="BlobBusyException"/> retried later by the host.
/// </summary>
public sealed class ClaimContendedException : BlobBusyException
{
    public ClaimContendedException()
    {
    }

    public ClaimContendedException(string message)
        : base(message)
    {
    }

    public ClaimContendedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
