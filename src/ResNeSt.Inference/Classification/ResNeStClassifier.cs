using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Batching;
using ResNeSt.Inference.Diagnostics;
using ResNeSt.Inference.Imaging;
using ResNeSt.Inference.Runtime;
using ResNeSt.Models.Metadata;

namespace ResNeSt.Inference.Classification;

/// <summary>How the classifier prepares images and what it returns by default.</summary>
/// <param name="TopK">Ranked classes per image.</param>
/// <param name="ApplyExifOrientation">Turn images upright by their EXIF tag first (PIL ignores it; false gives exact parity).</param>
/// <param name="Limits">Byte, pixel and side limits for uploads; <see cref="ImageLimits.Default"/> when null.</param>
/// <param name="Decode">Full-size JPEG decoding (PIL parity) or reduced-size for large JPEGs; the app and the CLI default to <see cref="DecodeMode.Fast"/>.</param>
public sealed record ClassifierOptions(
    [property: Range(1, InferenceEngine.ClassCount)] int TopK = SoftmaxTopK.DefaultK, bool ApplyExifOrientation = true, ImageLimits? Limits = null, DecodeMode Decode = DecodeMode.Exact);

/// <summary>The rules of <see cref="ClassifierOptions"/>, checked by generated code; used without DI by <see cref="ResNeStClassifier"/>.</summary>
[OptionsValidator]
public sealed partial class ClassifierOptionsValidator : IValidateOptions<ClassifierOptions>;

/// <summary>A classification plus the batcher's view of it: the raw logits when asked for, and when its batch ran.</summary>
public sealed record DetailedClassification(ClassificationResult Classification, InferenceOutput Inference)
{
    public float[]? Logits => Inference.Logits;
}

/// <summary>
/// The inference facade: bytes in, <see cref="ClassificationResult"/> out. The caller's thread decodes and preprocesses the
/// image straight into its slot of the batch tensor while earlier batches run, then waits for its batch.
/// A bad image throws <see cref="ImageRejectedException"/> unchanged; anything else is a fault of the engine.
/// </summary>
public sealed class ResNeStClassifier : IImageClassifier, IAsyncDisposable
{
    private readonly InferenceEngine _engine;
    private readonly bool _ownsEngine;
    private readonly ImagePreprocessor _preprocessor;
    private readonly PreprocessingSpec _spec;
    private readonly InferenceRequest _defaultRequest;
    private readonly InferenceRequest _ifRoomRequest;

    public ResNeStClassifier(InferenceEngine engine, ClassifierOptions? options = null, ILogger? logger = null, bool ownsEngine = false)
    {
        ArgumentNullException.ThrowIfNull(engine);
        options ??= new ClassifierOptions();
        if (new ClassifierOptionsValidator().Validate(null, options) is { Failed: true } invalid)
        {
            throw new ArgumentOutOfRangeException(nameof(options), invalid.FailureMessage);
        }

        _engine = engine;
        _ownsEngine = ownsEngine;
        _preprocessor = new ImagePreprocessor(options.Limits ?? ImageLimits.Default, decode: options.Decode);
        _spec = PreprocessingSpec.FromModelCard(engine.Card, options.ApplyExifOrientation);
        _spec.Validate();
        _defaultRequest = new InferenceRequest(options.TopK);
        _ifRoomRequest = _defaultRequest with { WaitWhenFull = false };
        Batcher = new InferenceBatcher(engine, logger);
    }

    /// <summary>Loads a model file and builds a classifier that owns it.</summary>
    public static ResNeStClassifier Load(string modelPath, InferenceOptions inference, ModelLoadOptions? load = null, ClassifierOptions? options = null, ILogger? logger = null)
    {
        var engine = InferenceEngine.Load(modelPath, inference, load, logger);
        try
        {
            return new ResNeStClassifier(engine, options, logger, ownsEngine: true);
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    public ModelCard Model => _engine.Card;

    public string ExecutionProvider => _engine.ExecutionProvider;

    public InferenceEngine Engine => _engine;

    public InferenceBatcher Batcher { get; }

    /// <summary>How this classifier decodes JPEGs (<see cref="ClassifierOptions.Decode"/>).</summary>
    public DecodeMode DecodeMode => _preprocessor.DecodeMode;

    public async Task<ClassificationResult> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default) =>
        (await ClassifyAsync(encodedImage, _defaultRequest, cancellationToken)).Classification;

    public async Task<ClassificationResult> ClassifyIfRoomAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default) =>
        (await ClassifyAsync(encodedImage, _ifRoomRequest, cancellationToken)).Classification;

    /// <summary>Classifies with a per-call request (top-k, raw logits, fail fast when the queue is full).</summary>
    public async Task<DetailedClassification> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, InferenceRequest request, CancellationToken cancellationToken = default)
    {
        var state = new PreprocessState(encodedImage, _preprocessor, _spec, cancellationToken);
        var result = await Batcher.SubmitAsync(state, static (in PreprocessState s, Span<float> slot) => Preprocess(s, slot), request, cancellationToken);
        var output = result.Output;
        InferenceTelemetry.RecordInferenceSpan(output.RunEndedTimestamp, output.InferenceMs, output.QueueWaitMs, output.BatchSize, _engine.ExecutionProvider);
        var classification = new ClassificationResult(
            output.Predictions,
            result.Written,
            _engine.Card.Variant,
            _engine.ModelSha256,
            _spec.Recipe,
            _spec.CropSize,
            _engine.ExecutionProvider,
            new StageTimings(result.WriteMs, output.QueueWaitMs, output.InferenceMs, output.BatchSize));
        return new DetailedClassification(classification, output);
    }

    public async ValueTask DisposeAsync()
    {
        await Batcher.DisposeAsync();
        if (_ownsEngine)
        {
            _engine.Dispose();
        }
    }

    /// <summary>Decodes and preprocesses into the slot on the caller's thread, inside its own span when anyone listens.</summary>
    private static ImageInfo Preprocess(in PreprocessState state, Span<float> slot)
    {
        using var activity = InferenceTelemetry.ActivitySource.StartActivity(InferenceTelemetry.DecodePreprocessActivity);
        try
        {
            var info = state.Preprocessor.Preprocess(state.Bytes.Span, slot, state.Spec, state.CancellationToken);
            if (activity is not null)
            {
                activity.SetTag(InferenceTelemetry.ImageFormatTag, info.Format);
                activity.SetTag(InferenceTelemetry.ImageWidthTag, info.Width);
                activity.SetTag(InferenceTelemetry.ImageHeightTag, info.Height);
            }

            return info;
        }
        catch (ImageRejectedException rejected) when (activity is not null)
        {
            activity.SetTag(InferenceTelemetry.RejectionTag, rejected.Code);
            activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error, rejected.Code);
            throw;
        }
    }

    private readonly record struct PreprocessState(ReadOnlyMemory<byte> Bytes, ImagePreprocessor Preprocessor, PreprocessingSpec Spec, CancellationToken CancellationToken);
}
