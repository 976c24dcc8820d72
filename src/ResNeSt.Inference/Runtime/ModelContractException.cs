namespace ResNeSt.Inference.Runtime;

/// <summary>A model file that does not fit the contract (input <c>input</c> float [N,3,S,S], output <c>logits</c> float [N,1000], a usable model card).</summary>
public sealed class ModelContractException(string message, Exception? innerException = null) : Exception(message, innerException);
