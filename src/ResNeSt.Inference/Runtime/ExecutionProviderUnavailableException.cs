namespace ResNeSt.Inference.Runtime;

/// <summary>The execution provider that was demanded cannot be used on this machine.</summary>
public sealed class ExecutionProviderUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);
