namespace ResNeSt.Models.Onnx;

/// <summary>An ONNX file does not have the classifier's I/O contract (one float input [N,3,S,S], one float output [N,1000]).</summary>
public sealed class OnnxContractException(string message) : Exception(message);
