using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.TestSupport;

namespace ResNeSt.Pipeline.Tests;

/// <summary>
/// Tables and blobs unavailable for a while, through a fault-injecting proxy in front of Azurite: transient faults
/// are absorbed by the SDK's retry policy (StorageRetry options on every client); longer outages are thrown for the
/// host to retry; storage being down never becomes a failed result; after the outage the image classifies normally.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class StorageFaultTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Dictionary<string, string?> Settings(FaultProxy proxy, int maxRetries) => new()
    {
        ["ImageStorage"] = proxy.ConnectionString,
        ["StorageRetry:MaxRetries"] = maxRetries.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["StorageRetry:Delay"] = "00:00:00.020",
        ["StorageRetry:MaxDelay"] = "00:00:00.100",
        ["Pipeline:ClaimTimeout"] = "00:01:00",
    };

    /// <summary>
    /// The first <paramref name="faults"/> attempts of every distinct request fail: a 503, then (with
    /// <paramref name="drops"/>) a dropped connection, alternating.
    /// </summary>
    private static Func<ProxiedRequest, Fault> FailEachRequestFirst(int faults, bool drops = true)
    {
        var attempts = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        return request =>
        {
            int attempt = attempts.AddOrUpdate($"{request.Service} {request.Method} {request.Path}", 1, (_, n) => n + 1);
            return attempt > faults ? Fault.None : attempt % 2 == 1 || !drops ? Fault.ServiceUnavailable : Fault.Drop;
        };
    }

    private async Task<List<ResultEntity>> StoredResultsAsync()
    {
        // Straight to Azurite, not through the proxy.
        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(ResourceNames.Default.Tables.Results);
        var rows = new List<ResultEntity>();
        await foreach (var row in table.QueryAsync<ResultEntity>())
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task Transient_faults_on_every_request_are_retried_by_the_sdk_and_the_image_classifies_normally()
    {
        await using var proxy = FaultProxy.Start(azurite.ConnectionString);
        await using var harness = await PipelineHarness.StartAsync(azurite, Settings(proxy, maxRetries: 3));
        var blob = await harness.UploadAsync("flaky.png", TestImages.GeneratedPng(1));

        proxy.Rule = FailEachRequestFirst(2);
        var outcome = await harness.Pipeline.ProcessAsync(blob, "inv-1", default);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(1, harness.Inferences);
        // properties, claim, download, result row, index row, tags: each failed twice before it went through.
        Assert.True(proxy.Faulted >= 12, $"only {proxy.Faulted} faults injected");
        var row = Assert.Single(await StoredResultsAsync());
        Assert.Equal((ResultStatus.Succeeded, (string?)null), (row.Status, row.ErrorCode));
    }

    [Fact]
    public async Task The_configured_retry_count_reaches_the_clients_and_what_still_fails_is_thrown()
    {
        await using var proxy = FaultProxy.Start(azurite.ConnectionString);
        await using var harness = await PipelineHarness.StartAsync(azurite, Settings(proxy, maxRetries: 1));
        var blob = await harness.UploadAsync("flaky.png", TestImages.GeneratedPng(2));

        proxy.Rule = FailEachRequestFirst(2, drops: false);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => harness.Pipeline.ProcessAsync(blob, "inv-1", default));

        // One retry: the properties request was tried twice (503, 503), then the invocation failed for the host. (With
        // 503s only: .NET's HTTP stack may itself resend a request whose connection dropped, outside the SDK's policy.)
        Assert.True(error is RequestFailedException or AggregateException, error.ToString());
        Assert.True(proxy.Faulted == 2, string.Join('\n', proxy.Journal));
        Assert.Equal(0, harness.Inferences);
        Assert.Empty(await StoredResultsAsync());
    }

    [Fact]
    public async Task A_table_outage_is_thrown_for_the_host_and_after_it_the_retry_classifies_normally()
    {
        await using var proxy = FaultProxy.Start(azurite.ConnectionString);
        await using var harness = await PipelineHarness.StartAsync(azurite, Settings(proxy, maxRetries: 2));
        var blob = await harness.UploadAsync("outage.png", TestImages.GeneratedPng(3));

        proxy.Rule = r => r.Service == "table" ? Fault.ServiceUnavailable : Fault.None;
        var error = await Assert.ThrowsAnyAsync<Exception>(() => harness.Pipeline.ProcessAsync(blob, "delivery-1", default));
        Assert.True(error is RequestFailedException { Status: 503 } or AggregateException, error.ToString());
        Assert.Empty(await StoredResultsAsync()); // nothing, in particular no failed result

        proxy.Rule = static _ => Fault.None;
        var outcome = await harness.Pipeline.ProcessAsync(blob, "delivery-2", default);
        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(ResultStatus.Succeeded, Assert.Single(await StoredResultsAsync()).Status);
        Assert.Equal(1, harness.Inferences);
    }

    [Fact]
    public async Task A_blob_outage_during_the_download_releases_the_claim_and_records_no_failure()
    {
        await using var proxy = FaultProxy.Start(azurite.ConnectionString);
        await using var harness = await PipelineHarness.StartAsync(azurite, Settings(proxy, maxRetries: 2));
        var blob = await harness.UploadAsync("outage.jpg", TestImages.Sample("dog.jpg"));

        proxy.Rule = r => r.IsBlobDownload ? Fault.Drop : Fault.None;
        await Assert.ThrowsAnyAsync<Exception>(() => harness.Pipeline.ProcessAsync(blob, "delivery-1", default));
        var during = Assert.Single(await StoredResultsAsync());
        Assert.Equal((ResultStatus.Processing, (string?)null, (string?)null), (during.Status, during.ErrorCode, during.ClaimId));

        proxy.Rule = static _ => Fault.None;
        var outcome = await harness.Pipeline.ProcessAsync(blob, "delivery-2", default);
        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(1, harness.Inferences);
    }

    [Fact]
    public async Task A_claim_stranded_by_an_outage_expires_after_the_claim_timeout_and_the_image_then_classifies()
    {
        await using var proxy = FaultProxy.Start(azurite.ConnectionString);
        var clock = new ManualTimeProvider(s_start);
        await using var harness = await PipelineHarness.StartAsync(
            azurite, Settings(proxy, maxRetries: 2), services => services.AddSingleton<TimeProvider>(clock));
        var blob = await harness.UploadAsync("stranded.png", TestImages.GeneratedPng(4));

        // Tables go down after the claim (the first table request): the result cannot be stored and the claim cannot be
        // released, so the row keeps a claim of a delivery that has failed.
        long tableRequests = 0;
        proxy.Rule = r => r.Service == "table" && Interlocked.Increment(ref tableRequests) > 1 ? Fault.ServiceUnavailable : Fault.None;
        await Assert.ThrowsAnyAsync<Exception>(() => harness.Pipeline.ProcessAsync(blob, "delivery-1", default));
        Assert.Equal(1, harness.Inferences);
        var stranded = Assert.Single(await StoredResultsAsync());
        Assert.Equal((ResultStatus.Processing, "delivery-1", (string?)null), (stranded.Status, stranded.ClaimId, stranded.ErrorCode));

        // Storage is back. The host's next delivery finds the claim still live and fails retriably (no result written) ...
        proxy.Rule = static _ => Fault.None;
        await Assert.ThrowsAsync<BlobBusyException>(() => harness.Pipeline.ProcessAsync(blob, "delivery-2", default));
        Assert.Equal("delivery-1", Assert.Single(await StoredResultsAsync()).ClaimId);

        // ... and once the claim timeout has passed, the next one takes the claim over and classifies the image.
        clock.Advance(TimeSpan.FromMinutes(1));
        var outcome = await harness.Pipeline.ProcessAsync(blob, "delivery-3", default);
        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        Assert.Equal(2, harness.Inferences);
        var final = Assert.Single(await StoredResultsAsync());
        Assert.Equal((ResultStatus.Succeeded, (string?)null), (final.Status, final.ClaimId));
    }

    [Fact]
    public async Task A_result_row_that_changes_under_every_claim_attempt_is_our_own_contention_not_a_storage_fault()
    {
        await using var proxy = FaultProxy.Start(azurite.ConnectionString);
        await using var harness = await PipelineHarness.StartAsync(azurite, Settings(proxy, maxRetries: 0));
        var blob = new Blobs.BlobRef(harness.Images.Name, "contended.jpg", "\"0xNEW\"");
        var older = await harness.Claims.ClaimAsync(blob with { ETag = "\"0xOLD\"" }, s_start, "older", TimeSpan.FromMinutes(1), default);
        Assert.Equal(ClaimStatus.Claimed, older.Status);

        // Another invocation writes the row (straight to Azurite) just before every conditional write of ours lands.
        var direct = new TableServiceClient(azurite.ConnectionString).GetTableClient(ResourceNames.Default.Tables.Results);
        int touched = 0;
        proxy.Rule = request =>
        {
            if (request.Service == "table" && request.Method is "PATCH" or "MERGE" or "PUT")
            {
                var row = new TableEntity(older.Entity.PartitionKey, older.Entity.RowKey) { ["Touched"] = Interlocked.Increment(ref touched) };
                direct.UpdateEntity(row, ETag.All, TableUpdateMode.Merge);
            }

            return Fault.None;
        };

        var error = await Assert.ThrowsAsync<ClaimContendedException>(
            () => harness.Claims.ClaimAsync(blob, s_start, "mine", TimeSpan.FromMinutes(1), default));
        Assert.Contains("contended.jpg", error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<BlobBusyException>(error); // retried by the host like any busy blob
        Assert.Equal(ResultClaims.MaxAttempts - 1, touched); // the first attempt inserts (and conflicts) without reading
    }

    [Theory]
    [InlineData("StorageRetry:MaxRetries", "11")]
    [InlineData("StorageRetry:Delay", "00:00:00")]
    [InlineData("StorageRetry:Delay", "00:00:30")] // more than MaxDelay (8 s)
    [InlineData("StorageRetry:NetworkTimeout", "00:00:00.500")]
    public async Task Invalid_retry_settings_stop_the_host_at_start_up(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            PipelineHarness.StartAsync(azurite, new Dictionary<string, string?> { [key] = value }));
        Assert.Contains("StorageRetry", error.Message + string.Join(' ', error.Failures), StringComparison.Ordinal);
    }
}
