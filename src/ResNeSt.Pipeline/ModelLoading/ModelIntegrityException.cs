namespace ResNeSt.Pipeline.ModelLoading;

/// <summary>The model file does not match its expected SHA-256.</summary>
public sealed class ModelIntegrityException(string message) : Exception(message);
