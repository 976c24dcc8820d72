using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Classification;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;

namespace ResNeSt.Pipeline.ModelLoading;

/// <summary>Builds the inference engine for a verified model file (supplied by the host: Functions app, CLI or tests).</summary>
public delegate IImageClassifier ClassifierFactory(LocalModel model);

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
    private readonly Lock _sync = new();
    private readonly CancellationTokenSource _disposing = new();
    private volatile Loaded? _loaded;
    private Task<Loaded>? _attempt;
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
    public bool IsReady => _loaded is not null;

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
    /// <remarks>
    /// There is one load at a time, shared by every caller and run on the runtime's own lifetime: a caller's token
    /// only stops that caller's wait. Otherwise a cancelled caller (an aborted health probe, a timed-out invocation)
    /// would abandon a half-built engine and let the next caller start the download and hashing all over again.
    /// </remarks>
    public async ValueTask<IImageClassifier> GetClassifierAsync(CancellationToken cancellationToken)
    {
        if (_loaded is { } loaded)
        {
            return loaded.Classifier;
        }

        Task<Loaded> attempt;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
            if (_attempt is null || (_attempt.IsFaulted && _time.GetUtcNow() - _lastFailure >= _reloadInterval))
            {
                // The load must not inherit the first caller's ambient state (log scopes, the worker's audit of
                // which delivery classifies what): it belongs to no invocation.
                using (ExecutionContext.SuppressFlow())
                {
                    _attempt = Task.Run(() => LoadAsync(_disposing.Token), CancellationToken.None);
                }
            }

            attempt = _attempt;
        }

        return (await attempt.WaitAsync(cancellationToken).ConfigureAwait(false)).Classifier;
    }

    private async Task<Loaded> LoadAsync(CancellationToken cancellationToken)
    {
        IImageClassifier? classifier = null;
        try
        {
            var model = await _provider.ResolveAsync(cancellationToken).ConfigureAwait(false);
            classifier = _factory(model);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await classifier.ClassifyAsync(WarmUpImage, cancellationToken).ConfigureAwait(false);
            var loaded = new Loaded(model, classifier);
            LastError = null;
            LastFailureCode = null;
            _loaded = loaded;
            PipelineLog.ModelLoaded(_logger, classifier.Model.Variant, model.Sha256, classifier.Model.CropSize, classifier.ExecutionProvider);
            PipelineLog.ModelWarmedUp(_logger, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return loaded;
        }
        catch (Exception ex)
        {
            await ClassifierLifetime.DisposeAsync(classifier).ConfigureAwait(false);
            LastError = $"{ex.GetType().Name}: {ex.Message}";
            LastFailureCode = FailureCode(ex);
            _lastFailure = _time.GetUtcNow();
            PipelineLog.ModelLoadFailed(_logger, ex);
            throw new ModelUnavailableException($"The model is not available: {LastError}", ex);
        }
    }

    private static string FailureCode(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "model_not_found",
        Azure.RequestFailedException { Status: 404 } => "model_not_found",
        ModelIntegrityException => "model_hash_mismatch",
        ResNeSt.Inference.Runtime.ModelContractException => "model_invalid",
        // Inference:ExecutionProvider=cuda on a host whose NVIDIA driver is missing or too old (docs/deploy.md).
        { InnerException: ResNeSt.Inference.Runtime.CudaDriverUnsuitableException driver } => driver.FailureCode,
        _ => "model_load_failed",
    };

    /// <summary>Loads and warms the model up at start-up, so the first real invocation pays no start-up cost.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken) =>
        await GetClassifierAsync(cancellationToken).ConfigureAwait(false);

    private static readonly Lazy<byte[]> s_warmUpImage = new(() =>
    {
        // Committed bytes (a 64×48 gradient, 6 KB), so the pipeline needs no image encoder of its own.
        using var resource = typeof(ModelRuntime).Assembly.GetManifestResourceStream("ResNeSt.Pipeline.warm-up.png")
            ?? throw new InvalidOperationException("The warm-up image is not embedded in ResNeSt.Pipeline.");
        using var buffer = new MemoryStream();
        resource.CopyTo(buffer);
        return buffer.ToArray();
    });

    /// <summary>A small valid PNG (a gradient) used to warm the engine up.</summary>
    public static byte[] WarmUpImage => s_warmUpImage.Value;

    public async ValueTask DisposeAsync()
    {
        Task<Loaded>? attempt;
        lock (_sync)
        {
            if (_disposing.IsCancellationRequested)
            {
                return;
            }

            _disposing.Cancel();
            attempt = _attempt;
        }

        if (attempt is not null)
        {
            // A load in progress stops at its next cancellation check and disposes what it built.
            await ((Task)attempt).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await ClassifierLifetime.DisposeAsync(_loaded?.Classifier).ConfigureAwait(false);
        _disposing.Dispose();
    }

}
