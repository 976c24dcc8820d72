namespace ResNeSt.Inference.Classification;

/// <summary>Where the time for one image went, in milliseconds.</summary>
public sealed record StageTimings(double DecodeAndPreprocessMs, double QueueWaitMs, double InferenceMs, int BatchSize);
