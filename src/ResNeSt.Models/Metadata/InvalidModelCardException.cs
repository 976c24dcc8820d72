namespace ResNeSt.Models.Metadata;

/// <summary>A model's metadata does not describe a usable model.</summary>
public sealed class InvalidModelCardException(string message) : Exception(message);
