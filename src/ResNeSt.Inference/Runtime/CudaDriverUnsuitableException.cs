namespace ResNeSt.Inference.Runtime;

/// <summary>
/// The NVIDIA driver is missing or older than the CUDA version ONNX Runtime's CUDA provider is built for.
/// <see cref="FailureCode"/> is what health reports (<c>cuda_driver_not_found</c>, <c>cuda_driver_too_old</c>).
/// </summary>
public sealed class CudaDriverUnsuitableException(string failureCode, string message) : Exception(message)
{
    public string FailureCode { get; } = failureCode;
}
