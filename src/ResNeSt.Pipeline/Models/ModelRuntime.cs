using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Classification;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Pipeline.Models;

/// <summary>Builds the inference engine for a verified model file (supplied by the host: Functions app, CLI or tests).</summary>
public delegate IImageClassifier ClassifierFactory(LocalModel model);

/// <summary>
/// The model could not be loaded (missing, corrupt, wrong hash, wrong contract). Thrown from invocations so that the
/// host retries them once the model is fixed; never recorded as an image's failure.
/// </summary>
public sealed class ModelUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// The one classifier of the process: the model is resolved and the engine built once, on first use or by the
/// warm-up at start-up, and shared by every invocation so that concurrent images fill the same batches.
/// </summary>
public sealed class ModelRuntime : IAsyncDisposable
{
    private readonly ModelProvider _provider;
    private readonly ClassifierFactory _factory;
    private readonly ILogger<ModelRuntime> _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _reloadInterval;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Loaded? _loaded;
    private DateTimeOffset _lastFailure;

    public ModelRuntime(
        ModelProvider provider, ClassifierFactory factory, IOptions<ModelOptions> options, TimeProvider time, ILogger<ModelRuntime> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _provider = provider;
        _factory = factory;
        _time = time;
        _reloadInterval = options.Value.ReloadInterval;
        _logger = logger;
    }

    private sealed record Loaded(LocalModel Model, IImageClassifier Classifier);

    /// <summary>True once the model is loaded and a warm-up image went through it.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Why the last load failed, in full (for logs and invocation errors: it may name files and endpoints).</summary>
    public string? LastError { get; private set; }

    /// <summary>
    /// What kind of failure the last load was, as a fixed code that names nothing of the deployment, so that the
    /// anonymous health probe can say why without revealing paths or storage names.
    /// </summary>
    public string? LastFailureCode { get; private set; }

    public LocalModel? Model => _loaded?.Model;

    public IImageClassifier? Classifier => _loaded?.Classifier;

    /// <summary>
    /// The classifier, loading the model (and pushing the warm-up image through it) first if needed. A failed load
    /// throws <see cref="ModelUnavailableException"/>; the next call at least <see cref="ModelOptions.ReloadInterval"/>
    /// later tries again, so a fixed model file or blob is picked up without a restart, while a burst of invocations
    /// against a broken model fails fast instead of re-reading and re-hashing the file each time.
    /// </summary>
    public async ValueTask<IImageClassifier> GetClassifierAsync(CancellationToken cancellationToken)
    {
        if (_loaded is { } loaded)
        {
            return loaded.Classifier;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loaded is { } again)
            {
                return again.Classifier;
            }

            if (LastError is { } error && _time.GetUtcNow() - _lastFailure < _reloadInterval)
            {
                throw new ModelUnavailableException($"The model is not available: {error}");
            }

            IImageClassifier? classifier = null;
            try
            {
                var model = await _provider.ResolveAsync(cancellationToken).ConfigureAwait(false);
                classifier = _factory(model);
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await classifier.ClassifyAsync(WarmUpImage, cancellationToken).ConfigureAwait(false);
                _loaded = new Loaded(model, classifier);
                LastError = null;
                LastFailureCode = null;
                IsReady = true;
                PipelineLog.ModelLoaded(_logger, classifier.Model.Variant, model.Sha256, classifier.Model.CropSize, classifier.ExecutionProvider);
                PipelineLog.ModelWarmedUp(_logger, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return classifier;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await ClassifierLifetime.DisposeAsync(classifier).ConfigureAwait(false);
                LastError = $"{ex.GetType().Name}: {ex.Message}";
                LastFailureCode = FailureCode(ex);
                _lastFailure = _time.GetUtcNow();
                PipelineLog.ModelLoadFailed(_logger, ex);
                throw new ModelUnavailableException($"The model is not available: {LastError}", ex);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private static string FailureCode(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "model_not_found",
        Azure.RequestFailedException { Status: 404 } => "model_not_found",
        ModelIntegrityException => "model_hash_mismatch",
        ResNeSt.Inference.Runtime.ModelContractException => "model_invalid",
        _ => "model_load_failed",
    };

    /// <summary>Loads and warms the model up at start-up, so the first real invocation pays no start-up cost.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken) =>
        await GetClassifierAsync(cancellationToken).ConfigureAwait(false);

    private static readonly Lazy<byte[]> s_warmUpImage = new(() =>
    {
        using var image = new Image<Rgb24>(64, 48);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    row[x] = new Rgb24((byte)(x * 4), (byte)(y * 5), 128);
                }
            }
        });
        using var buffer = new MemoryStream();
        image.SaveAsPng(buffer);
        return buffer.ToArray();
    });

    /// <summary>A small valid PNG (a gradient) used to warm the engine up.</summary>
    public static byte[] WarmUpImage => s_warmUpImage.Value;

    public async ValueTask DisposeAsync()
    {
        await ClassifierLifetime.DisposeAsync(_loaded?.Classifier).ConfigureAwait(false);
        _gate.Dispose();
    }

}
