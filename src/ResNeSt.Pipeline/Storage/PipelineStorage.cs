using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;

namespace ResNeSt.Pipeline.Storage;

/// <summary>The storage resources the pipeline touches, resolved once from the service clients and <see cref="ResourceNames"/>.</summary>
public sealed class PipelineStorage
{
    private readonly ILogger<PipelineStorage> _logger;

    public PipelineStorage(
        BlobServiceClient blobs,
        QueueServiceClient queues,
        TableServiceClient tables,
        IOptions<PipelineOptions> options,
        ILogger<PipelineStorage> logger)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger;
        var names = ResourceNames.Default;
        Blobs = blobs;
        Images = blobs.GetBlobContainerClient(options.Value.ImagesContainer);
        Models = blobs.GetBlobContainerClient(names.Containers.Models);
        ClassifyQueue = queues.GetQueueClient(options.Value.ClassifyQueue);
        ClassifyPoisonQueue = queues.GetQueueClient(options.Value.ClassifyQueue + PoisonSuffix);
        BlobTriggerPoisonQueue = queues.GetQueueClient(BlobTriggerPoisonQueueName);
        Results = tables.GetTableClient(names.Tables.Results);
        LabelIndex = tables.GetTableClient(names.Tables.LabelIndex);
        BatchJobs = tables.GetTableClient(names.Tables.BatchJobs);
    }

    /// <summary>The suffix the Functions host gives a queue's poison queue.</summary>
    public const string PoisonSuffix = "-poison";

    /// <summary>The queue the host's blobs extension moves a blob-trigger event to after its last failed attempt.</summary>
    public const string BlobTriggerPoisonQueueName = "webjobs-blobtrigger-poison";

    public BlobServiceClient Blobs { get; }

    public BlobContainerClient Images { get; }

    public BlobContainerClient Models { get; }

    public QueueClient ClassifyQueue { get; }

    public QueueClient ClassifyPoisonQueue { get; }

    /// <summary>Blob-trigger events the host gave up on (in the trigger connection's account, which is this one).</summary>
    public QueueClient BlobTriggerPoisonQueue { get; }

    public TableClient Results { get; }

    public TableClient LabelIndex { get; }

    public TableClient BatchJobs { get; }

    /// <summary>Creates what is missing. In Azure the templates create everything, and a 403 here is logged, not fatal.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await TolerateAsync(Images.Name, () => Images.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        await TolerateAsync(Models.Name, () => Models.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        // The poison queues too: the host's queue listeners poll them from start-up, and every poll of a missing queue
        // logs a 404 warning.
        foreach (var queue in new[] { ClassifyQueue, ClassifyPoisonQueue, BlobTriggerPoisonQueue })
        {
            await TolerateAsync(queue.Name, () => queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        foreach (var table in new[] { Results, LabelIndex, BatchJobs })
        {
            await TolerateAsync(table.Name, () => table.CreateIfNotExistsAsync(cancellationToken)).ConfigureAwait(false);
        }
    }

    private async Task TolerateAsync<T>(string resource, Func<Task<T>> create)
    {
        try
        {
            await create().ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 403)
        {
            PipelineLog.StorageResourceNotCreated(_logger, resource, ex.ErrorCode ?? ex.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
