using Microsoft.Extensions.Logging;

namespace ResNeSt.Inference.Runtime;

internal static partial class RuntimeLog
{
    // Information, not Warning: with the provider on auto, a machine without CUDA running on the CPU is the expected
    // outcome, said once per model load in one short line; ONNX Runtime's full text is at Debug (3007).
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "CUDA is not available ({Reason}); running on the CPU")]
    public static partial void CudaUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Debug, Message = "The CUDA execution provider failed to load: {Detail}")]
    public static partial void CudaUnavailableDetail(ILogger logger, string detail);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information,
        Message = "Loaded model {Variant} (sha256 {Sha256}) on {Provider}: crop {CropSize}, recipe {Recipe}, max batch {MaxBatchSize}, in {ElapsedMs:F0} ms")]
    public static partial void ModelLoaded(ILogger logger, string variant, string sha256, string provider, int cropSize, ResNeSt.Models.Metadata.PreprocessingRecipe recipe, int maxBatchSize, double elapsedMs);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Model has no ResNeSt metadata; using ImageNet defaults with crop {CropSize}")]
    public static partial void NoMetadata(ILogger logger, int cropSize);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Model fixes the batch dimension to {FixedBatch}; batches are limited to it")]
    public static partial void FixedBatch(ILogger logger, int fixedBatch);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "Warm-up run at batch {BatchSize} took {ElapsedMs:F1} ms")]
    public static partial void WarmedUp(ILogger logger, int batchSize, double elapsedMs);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error, Message = "Inference of a batch of {BatchSize} failed")]
    public static partial void BatchFailed(ILogger logger, int batchSize, Exception exception);
}
