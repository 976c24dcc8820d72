using Microsoft.Extensions.Logging;
using ResNeSt.Inference.Classification;
using ResNeSt.Pipeline.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ResNeSt.Pipeline.Models;

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
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Loaded? _loaded;

    public ModelRuntime(ModelProvider provider, ClassifierFactory factory, ILogger<ModelRuntime> logger)
    {
        _provider = provider;
        _factory = factory;
        _logger = logger;
    }

    private sealed record Loaded(LocalModel Model, IImageClassifier Classifier);

    /// <summary>True once the model is loaded and a warm-up image went through it.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Why the last load failed, for the health endpoint.</summary>
    public string? LastError { get; private set; }

    public LocalModel? Model => _loaded?.Model;

    public IImageClassifier? Classifier => _loaded?.Classifier;

    /// <summary>The classifier, loading the model first if needed. A failed load is retried on the next call.</summary>
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

            try
            {
                var model = await _provider.ResolveAsync(cancellationToken).ConfigureAwait(false);
                var classifier = _factory(model);
                _loaded = new Loaded(model, classifier);
                LastError = null;
                PipelineLog.ModelLoaded(_logger, classifier.Model.Variant, model.Sha256, classifier.Model.CropSize, classifier.ExecutionProvider);
                return classifier;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LastError = ex.Message;
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Loads the model and pushes one synthetic image through it so the first real invocation pays no start-up cost.</summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        var classifier = await GetClassifierAsync(cancellationToken).ConfigureAwait(false);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await classifier.ClassifyAsync(WarmUpImage, cancellationToken).ConfigureAwait(false);
        IsReady = true;
        PipelineLog.ModelWarmedUp(_logger, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

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
        switch (_loaded?.Classifier)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        _gate.Dispose();
    }
}
