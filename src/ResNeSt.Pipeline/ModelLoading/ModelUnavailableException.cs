namespace ResNeSt.Pipeline.ModelLoading;

/// <summary>
/// The model could not be loaded (missing, corrupt, wrong hash, wrong contract). Thrown from invocations so that the
/// host retries them once the model is fixed; never recorded as an image's failure.
/// </summary>
public sealed class ModelUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);
