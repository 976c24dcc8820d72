namespace ResNeSt.Models.Checkpoints;

/// <summary>
/// A checkpoint could not be obtained or used: it is unreadable, malformed, unsafe, does not match the variant,
/// or could not be downloaded. The message is meant for the user as it stands (one line, says what to do).
/// </summary>
public sealed class CheckpointException : Exception
{
    public CheckpointException()
        : base("The checkpoint could not be read.")
    {
    }

    public CheckpointException(string message)
        : base(message)
    {
    }

    public CheckpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
