namespace ResNeSt.Inference.Batching;

/// <summary>The batcher's queue is full and the caller asked not to wait.</summary>
public sealed class InferenceQueueFullException(string message) : Exception(message);
