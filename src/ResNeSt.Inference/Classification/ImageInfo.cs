namespace ResNeSt.Inference.Classification;

/// <summary>What the decoder learned about the image (before preprocessing).</summary>
public sealed record ImageInfo(string Format, int Width, int Height);
