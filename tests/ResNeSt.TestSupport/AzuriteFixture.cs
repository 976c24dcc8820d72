using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using ResNeSt.Testing.Storage;

namespace ResNeSt.TestSupport;

/// <summary>One Azurite for the whole test run (in memory, free loopback ports, telemetry off); each test wipes it first.</summary>
/// <remarks>
/// xUnit finds collection definitions only in the test assembly, so each test project that uses the fixture declares
/// its own one-line <c>[CollectionDefinition(AzuriteFixture.Collection)]</c> class.
/// </remarks>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>The collection of the tests sharing the fixture: they run one after another against one Azurite.</summary>
    public const string Collection = "Azurite";

    private Azurite? _azurite;

    public string ConnectionString => (_azurite ?? throw new InvalidOperationException("Azurite is not running.")).ConnectionString;

    public async Task InitializeAsync() => _azurite = await Azurite.StartAsync();

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    /// <summary>Deletes every table, container and queue so that a test starts from an empty account.</summary>
    public async Task ResetAsync()
    {
        var tables = new TableServiceClient(ConnectionString);
        await foreach (var table in tables.QueryAsync())
        {
            await tables.DeleteTableAsync(table.Name);
        }

        var blobs = new BlobServiceClient(ConnectionString);
        await foreach (var container in blobs.GetBlobContainersAsync())
        {
            await blobs.DeleteBlobContainerAsync(container.Name);
        }

        var queues = new QueueServiceClient(ConnectionString);
        await foreach (var queue in queues.GetQueuesAsync())
        {
            await queues.DeleteQueueAsync(queue.Name);
        }
    }
}
