using Azure.Storage.Queues;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ResNeSt.Inference.Runtime;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Redrive;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Storage;
using ResNeSt.Pipeline.Tagging;

namespace ResNeSt.Pipeline.Hosting;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>Registers the pipeline with the production engine (<see cref="EngineClassifier"/>).</summary>
    public static IServiceCollection AddClassificationPipeline(this IServiceCollection services, IConfiguration configuration) =>
        services.AddClassificationPipeline(configuration, EngineClassifier.FromServices);

    /// <summary>
    /// Registers the blob → result flow: storage clients for the <c>ImageStorage</c> connection (connection string or
    /// managed identity), validated options, the model runtime (one classifier per process, built by
    /// <paramref name="classifierFactory"/>, which may resolve its own settings from the container), result store, tagger, pipeline, batch jobs, and a start-up service that
    /// creates missing storage resources and warms the model up.
    /// </summary>
    public static IServiceCollection AddClassificationPipeline(
        this IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, ClassifierFactory> classifierFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(classifierFactory);

        services.AddValidatedOptions<PipelineOptions, PipelineOptionsValidator>(configuration.GetSection(PipelineOptions.SectionName));
        services.AddInferenceOptions(configuration.GetSection(InferenceOptions.SectionName));
        services.AddValidatedOptions<PreprocessingOptions, PreprocessingOptionsValidator>(configuration.GetSection(PreprocessingOptions.SectionName));
        services.AddValidatedOptions<ModelOptions, ModelOptionsValidator>(configuration.GetSection(ModelOptions.SectionName));
        services.AddValidatedOptions<StorageRetryOptions, StorageRetryOptionsValidator>(configuration.GetSection(StorageRetryOptions.SectionName));

        var connection = StorageConnection.FromConfiguration(configuration, ResourceNames.Default.ConnectionName);
        services.AddAzureClients(clients =>
        {
            // One retry policy for blobs, queues and tables, from validated options (reading Value validates).
            clients.ConfigureDefaults((options, provider) =>
                provider.GetRequiredService<IOptions<StorageRetryOptions>>().Value.ApplyTo(options.Retry));
            if (connection.UsesConnectionString)
            {
                clients.AddBlobServiceClient(connection.ConnectionString);
                // The Functions queue trigger expects base64 message bodies.
                clients.AddQueueServiceClient(connection.ConnectionString).ConfigureOptions(o => o.MessageEncoding = QueueMessageEncoding.Base64);
                clients.AddTableServiceClient(connection.ConnectionString);
            }
            else
            {
                clients.AddBlobServiceClient(connection.BlobServiceUri);
                clients.AddQueueServiceClient(connection.QueueServiceUri).ConfigureOptions(o => o.MessageEncoding = QueueMessageEncoding.Base64);
                clients.AddTableServiceClient(connection.TableServiceUri);
                clients.UseCredential(connection.CreateCredential(StorageConnection.RunsOnAzureHost()));
            }
        });

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<PipelineTelemetry>();
        services.AddSingleton(classifierFactory);
        services.AddSingleton<PipelineStorage>();
        services.AddSingleton<ResultStore>();
        services.AddSingleton<LabelIndex>();
        services.AddSingleton<ResultClaims>();
        services.AddSingleton<BlobTagger>();
        services.AddSingleton<ModelProvider>();
        services.AddSingleton<ModelRuntime>();
        services.AddSingleton<ImageDownloader>();
        services.AddSingleton<VersionClassifier>();
        services.AddSingleton<ClassificationPipeline>();
        services.AddSingleton<BatchJobStore>();
        services.AddSingleton<BatchJobService>();
        services.AddSingleton<UndeliveredBlobService>();
        services.AddHostedService<PipelineStartup>();
        return services;
    }
}
