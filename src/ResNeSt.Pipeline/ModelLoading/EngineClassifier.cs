using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Classification;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;
using ResNeSt.Pipeline.Configuration;

namespace ResNeSt.Pipeline.ModelLoading;

/// <summary>The production <see cref="ClassifierFactory"/>: the ONNX Runtime engine with its batcher, configured from <c>Inference__*</c>.</summary>
public static class EngineClassifier
{
    /// <summary>Builds classifiers from the container's validated <see cref="InferenceOptions"/> and <see cref="PipelineOptions"/>.</summary>
    public static ClassifierFactory FromServices(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return model =>
        {
            var pipeline = services.GetRequiredService<IOptions<PipelineOptions>>().Value;
            return Load(
                model,
                services.GetRequiredService<IOptions<InferenceOptions>>().Value,
                pipeline.MaxImageBytes,
                services.GetRequiredService<ILoggerFactory>().CreateLogger<ResNeStClassifier>(),
                pipeline.DecodeTimeout,
                services.GetRequiredService<IOptions<PreprocessingOptions>>().Value.Decode);
        };
    }

    /// <summary>
    /// Loads the engine; the byte limit and the decode time limit are the pipeline's, so a blob and a POST body are
    /// judged alike.
    /// </summary>
    public static ResNeStClassifier Load(
        LocalModel model, InferenceOptions inference, long maxImageBytes, ILogger? logger, TimeSpan? decodeTimeout = null, DecodeMode decode = DecodeMode.Fast)
    {
        ArgumentNullException.ThrowIfNull(model);
        var options = new ClassifierOptions(
            Limits: UploadLimits(maxImageBytes, decodeTimeout ?? PipelineOptions.DefaultDecodeTimeout), Decode: decode);
        return ResNeStClassifier.Load(model.Path, inference, options: options, logger: logger);
    }

    /// <summary>The limits every upload is held to: the default pixel budget, the pipeline's byte and decode time limits.</summary>
    public static ImageLimits UploadLimits(long maxImageBytes, TimeSpan decodeTimeout) =>
        ImageLimits.Default with { MaxBytes = maxImageBytes, DecodeTimeout = decodeTimeout };
}
