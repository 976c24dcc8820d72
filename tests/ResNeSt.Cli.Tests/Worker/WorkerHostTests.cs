using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ResNeSt.Cli.Worker;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Storage;
using ResNeSt.Testing.Storage;

namespace ResNeSt.Cli.Tests.Worker;

/// <summary><c>resnest worker</c> in-process: host.json settings, start-up validation, and the retry → poison path.</summary>
public sealed class WorkerHostTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resnest-worker-host-").FullName;
    private Azurite? _azurite;

    public async Task InitializeAsync() => _azurite = await Azurite.StartAsync();

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private static string RepositoryHostJson => Path.Combine(AppContext.BaseDirectory, "host.json");

    [Fact]
    public void The_queue_settings_come_from_the_apps_host_json()
    {
        using var host = WorkerCommand.Build(_azurite!.ConnectionString, "/nonexistent.onnx", RepositoryHostJson, new WorkerOptions(), null);
        var queue = host.Services.GetRequiredService<IOptions<HostQueueOptions>>().Value;
        var worker = host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
        Assert.Equal((16, 16, 5, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2)),
            (queue.BatchSize, queue.NewBatchThreshold, queue.MaxDequeueCount, queue.VisibilityTimeout, queue.MaxPollingInterval));
        Assert.Equal(TimeSpan.FromMinutes(10), worker.FunctionTimeout);
        Assert.Equal(TimeSpan.FromMinutes(10), worker.Lease);
    }

    [Fact]
    public async Task A_lease_shorter_than_twice_the_claim_timeout_is_refused_at_start_up()
    {
        using var host = WorkerCommand.Build(_azurite!.ConnectionString, "/nonexistent.onnx", RepositoryHostJson,
            new WorkerOptions { Lease = TimeSpan.FromSeconds(20) }, null,
            new Dictionary<string, string?> { ["Pipeline:ClaimTimeout"] = "00:00:11" });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("ClaimTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_that_keeps_failing_is_poisoned_after_maxDequeueCount_and_counted_failed_in_its_job()
    {
        // host.json as the app's, with two deliveries and no retry delay, so that the poison path is quick.
        var hostJson = Path.Combine(_dir, "host.json");
        await File.WriteAllTextAsync(hostJson, (await File.ReadAllTextAsync(RepositoryHostJson))
            .Replace("\"maxDequeueCount\": 5", "\"maxDequeueCount\": 2", StringComparison.Ordinal)
            .Replace("\"visibilityTimeout\": \"00:00:30\"", "\"visibilityTimeout\": \"00:00:00\"", StringComparison.Ordinal));

        // The model is missing: every delivery fails retriably (ModelUnavailableException), none writes a result.
        using var host = WorkerCommand.Build(_azurite!.ConnectionString, Path.Combine(_dir, "missing.onnx"), hostJson,
            new WorkerOptions { Lease = TimeSpan.FromSeconds(4), Drain = true }, null,
            new Dictionary<string, string?>
            {
                ["Pipeline:ClaimTimeout"] = "00:00:02",
            });
        var storage = host.Services.GetRequiredService<PipelineStorage>();
        var jobs = host.Services.GetRequiredService<BatchJobService>();
        var progressStore = host.Services.GetRequiredService<BatchJobStore>();
        await storage.EnsureCreatedAsync(default);
        await storage.Images.GetBlobClient("a.png").UploadAsync(new BinaryData([1, 2, 3]));
        var job = await jobs.StartAsync("", default);

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await host.RunAsync(timeout.Token); // --drain: returns once both queues are empty

        Assert.False(timeout.IsCancellationRequested, "the worker did not drain");
        var progress = (await progressStore.GetAsync(job.Id, default))!;
        Assert.Equal(("completed", 1, 0, 1), (progress.Status, progress.Queued, progress.Succeeded, progress.Failed));
        var item = new TableServiceClient(_azurite.ConnectionString).GetTableClient(ResourceNames.Default.Tables.BatchJobs)
            .Query<TableEntity>(e => e.PartitionKey == job.Id)
            .Single(e => e.RowKey.StartsWith("item_", StringComparison.Ordinal)); // beside the job, page and counter rows
        Assert.Equal(("failed", "poisoned"), (item.GetString("Outcome"), item.GetString("Detail")));
        Assert.Empty(new TableServiceClient(_azurite.ConnectionString).GetTableClient(ResourceNames.Default.Tables.Results).Query<TableEntity>());
        var poison = new QueueServiceClient(_azurite.ConnectionString).GetQueueClient(storage.ClassifyQueue.Name + "-poison");
        Assert.Equal(0, (await poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }
}
