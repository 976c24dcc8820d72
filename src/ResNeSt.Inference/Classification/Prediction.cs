namespace ResNeSt.Inference.Classification;

/// <summary>One ranked class.</summary>
public sealed record Prediction(int Index, string Label, float Probability);
