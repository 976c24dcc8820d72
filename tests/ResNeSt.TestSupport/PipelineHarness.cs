using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ResNeSt.Inference.Runtime;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Redrive;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Storage;
using ResNeSt.Testing.Counting;

namespace ResNeSt.TestSupport;

/// <summary>
/// The pipeline exactly as the Functions app wires it (<see cref="PipelineHost"/>: the app's registration, a started host,
/// options validated at start-up), on a freshly wiped Azurite, with the classifier wrapped in a counter.
/// </summary>
public sealed class PipelineHarness : IAsyncDisposable
{
    private readonly IHost _host;
    private CountingClassifier? _counting;

    private PipelineHarness(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public PipelineStorage Storage => Services.GetRequiredService<PipelineStorage>();

    public ClassificationPipeline Pipeline => Services.GetRequiredService<ClassificationPipeline>();

    public ResultStore Results => Services.GetRequiredService<ResultStore>();

    public ResultClaims Claims => Services.GetRequiredService<ResultClaims>();

    public LabelIndex Index => Services.GetRequiredService<LabelIndex>();

    public BatchJobService Batches => Services.GetRequiredService<BatchJobService>();

    public BatchJobStore BatchJobs => Services.GetRequiredService<BatchJobStore>();

    public ModelRuntime Model => Services.GetRequiredService<ModelRuntime>();

    public UndeliveredBlobService Undelivered => Services.GetRequiredService<UndeliveredBlobService>();

    public BlobContainerClient Images => Storage.Images;

    /// <summary>Images classified by the engine since start-up (the warm-up image excluded).</summary>
    public int Inferences => (int)(_counting?.Calls ?? 0) - 1;

    public static async Task<PipelineHarness> StartAsync(
        AzuriteFixture azurite, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        await azurite.ResetAsync();
        PipelineHarness? harness = null;
        var builder = PipelineHost.CreateBuilder(
            new PipelineSettings
            {
                StorageConnection = azurite.ConnectionString,
                ModelPath = TestModel.Path,
                ExecutionProvider = ExecutionProviderPreference.Cpu,
                IntraOpThreads = 2,
            },
            settings,
            services => model =>
            {
                // The production factory, wrapped so that the tests can count what reaches the engine.
                var counting = new CountingClassifier(EngineClassifier.FromServices(services)(model));
                harness!._counting = counting;
                return counting;
            },
            readEnvironment: false);
        configureServices?.Invoke(builder.Services);
        var host = builder.Build();
        harness = new PipelineHarness(host);
        await host.StartAsync();
        return harness;
    }

    /// <summary>Uploads (or overwrites) a blob in the images container and returns its client.</summary>
    public async Task<BlobClient> UploadAsync(string name, byte[] content)
    {
        var blob = Images.GetBlobClient(name);
        await blob.UploadAsync(new BinaryData(content), overwrite: true);
        return blob;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
