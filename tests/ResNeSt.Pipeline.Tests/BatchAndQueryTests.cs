using System.Security.Cryptography;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using ResNeSt.Pipeline.Batches;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.TestSupport;

namespace ResNeSt.Pipeline.Tests;

[Collection(AzuriteFixture.Collection)]
public sealed class BatchAndQueryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Batch_job_over_a_prefix_classifies_every_blob_once_and_counts_progress_exactly()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        for (int i = 0; i < 50; i++)
        {
            await harness.UploadAsync($"backfill/2024/{i:D3}.png", TestImages.GeneratedPng(100 + i, 48, 40));
        }

        await harness.UploadAsync("backfill/2024/empty.png", []);          // counted as failed
        await harness.UploadAsync("elsewhere/keep-out.png", TestImages.GeneratedPng(1)); // outside the prefix
        var already = await harness.UploadAsync("backfill/2024/000-done.png", TestImages.GeneratedPng(99));
        await harness.Pipeline.ProcessAsync(already, "upload-event", default); // counted as skipped
        int before = harness.Inferences;
        var job = await harness.Batches.StartAsync("backfill/", default);
        Assert.Equal("enumerating", job.Status);

        // Drive the queue as the queue trigger does: 8 concurrent handlers, every third message delivered twice (at-least-once).
        int handled = await DrainQueueAsync(harness, duplicateSome: true);
        var progress = await harness.BatchJobs.GetAsync(job.Id, default);
        Assert.NotNull(progress);
        Assert.Equal(52, progress.Queued);
        Assert.Equal(50, progress.Succeeded);
        Assert.Equal(1, progress.Failed);
        Assert.Equal(1, progress.Skipped);
        Assert.Equal("completed", progress.Status);
        Assert.Equal(50, harness.Inferences - before); // duplicates never reached the engine
        Assert.Equal(53 + 17, handled); // 1 enumeration + 52 blobs, every third delivered twice
        Assert.Null(await harness.Results.GetAsync(harness.Images.Name, "elsewhere/keep-out.png", default));
    }

    [Fact]
    public async Task Batch_job_classifies_every_name_the_blob_trigger_stores_including_backslashes_and_control_characters()
    {
        // The blob trigger stores these names and GET /api/results reads them back; a batch job over them must classify
        // them too, not count them as invalid names. (Control characters belong here as well, but Azurite lists them as
        // raw XML that the SDK cannot parse, where Azure encodes them: <Name Encoded="true">; a backslash is stored as '/'.)
        string[] names = ["c:/odd/drive.png", "odd/%2e%2e/x.png", "odd/trailing space .png", "odd/question?mark.png", "https:odd-lookalike.png"];
        await using var harness = await PipelineHarness.StartAsync(azurite);
        for (int i = 0; i < names.Length; i++)
        {
            await harness.UploadAsync(names[i], TestImages.GeneratedPng(200 + i));
        }

        var job = await harness.Batches.StartAsync("", default);
        await DrainQueueAsync(harness, duplicateSome: false);
        var progress = await harness.BatchJobs.GetAsync(job.Id, default);
        Assert.Equal(("completed", names.Length, names.Length, 0), (progress!.Status, progress.Queued, progress.Succeeded, progress.Failed));
        foreach (var name in names)
        {
            Assert.True(await harness.Results.GetAsync(harness.Images.Name, name, default) is not null, name);
        }
    }

    [Fact]
    public async Task Progress_is_running_until_every_queued_blob_is_counted()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        await harness.UploadAsync("p/a.png", TestImages.GeneratedPng(1));
        await harness.UploadAsync("p/b.png", TestImages.GeneratedPng(2));
        var job = await harness.Batches.StartAsync("p/", default);
        var queue = harness.Storage.ClassifyQueue;

        // Only the enumeration message is handled.
        var enumerate = (await queue.ReceiveMessageAsync()).Value;
        await harness.Batches.HandleAsync(BatchJobService.Parse(enumerate.MessageText), "inv", default);
        await queue.DeleteMessageAsync(enumerate.MessageId, enumerate.PopReceipt);

        var progress = await harness.BatchJobs.GetAsync(job.Id, default);
        Assert.Equal(("running", 2, 0), (progress!.Status, progress.Queued, progress.Succeeded));
        Assert.Null(await harness.BatchJobs.GetAsync("0123456789abcdef0123456789abcdef", default));
    }

    [Fact]
    public async Task Results_by_label_are_newest_first_and_paged_with_continuation_tokens()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var clock = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
        for (int i = 0; i < 7; i++)
        {
            await StoreAsync(harness, $"cats/{i}.jpg", "tabby, tabby cat", 281, 0.3 + (i * 0.1), clock.AddMinutes(i));
        }

        await StoreAsync(harness, "dogs/0.jpg", "golden retriever", 207, 0.9, clock);

        var seen = new List<string>();
        string? token = null;
        int pages = 0;
        do
        {
            var page = await harness.Results.QueryByLabelAsync("tabby, tabby cat", 0, 3, token, default);
            Assert.True(page.Items.Count <= 3);
            seen.AddRange(page.Items.Select(i => i.Name));
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null);

        Assert.Equal(Enumerable.Range(0, 7).Reverse().Select(i => $"cats/{i}.jpg"), seen);
        Assert.InRange(pages, 3, 4);

        var confident = await harness.Results.QueryByLabelAsync("tabby, tabby cat", 0.75, 10, null, default);
        Assert.Equal(["cats/6.jpg", "cats/5.jpg"], confident.Items.Select(i => i.Name));

        // Thresholds below 1e-4 were written as "1E-05" and matched nothing.
        foreach (double tiny in new[] { 1e-5, 1e-9, 3.5e-7 })
        {
            Assert.Equal(7, (await harness.Results.QueryByLabelAsync("tabby, tabby cat", tiny, 10, null, default)).Items.Count);
        }
    }

    [Theory]
    [InlineData("tabby' or PartitionKey ne '")]
    [InlineData("x') or (1 eq 1")]
    [InlineData("PartitionKey eq 'tabby'")]
    [InlineData("")]
    public void Labels_that_are_not_class_names_are_refused(string label)
    {
        Assert.False(LabelQuery.TryParse(global::ResNeSt.Models.Metadata.ModelCard.ImageNetClassNames, label, null, null, null, out _, out var error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("1.5", null)]
    [InlineData("-0.1", null)]
    [InlineData("0,5", null)]
    [InlineData("NaN", null)]
    [InlineData(null, "0")]
    [InlineData(null, "1001")]
    [InlineData(null, "ten")]
    public void Out_of_range_numbers_are_refused(string? minProbability, string? top) =>
        Assert.False(LabelQuery.TryParse(global::ResNeSt.Models.Metadata.ModelCard.ImageNetClassNames, "tabby, tabby cat", minProbability, top, null, out _, out _));

    [Fact]
    public void Valid_queries_resolve_the_label_case_insensitively()
    {
        Assert.True(LabelQuery.TryParse(global::ResNeSt.Models.Metadata.ModelCard.ImageNetClassNames, "GOLDEN RETRIEVER", "0.5", "20", null, out var query, out _));
        Assert.Equal(new LabelQuery("golden retriever", 0.5, 20, null), query);
    }

    [Fact]
    public async Task Model_blobs_are_downloaded_verified_and_cached()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var bytes = RandomNumberGenerator.GetBytes(300_000);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await harness.Storage.Models.CreateIfNotExistsAsync();
        await harness.Storage.Models.GetBlobClient("resnest50.onnx").UploadAsync(new BinaryData(bytes));
        var cache = Directory.CreateTempSubdirectory("model-cache-");
        try
        {
            ModelProvider Provider(string expected) => new(
                Microsoft.Extensions.Options.Options.Create(new ModelOptions { BlobName = "resnest50.onnx", Sha256 = expected, CacheDirectory = cache.FullName }),
                harness.Storage,
                Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelProvider>.Instance);

            var first = await Provider(sha.ToUpperInvariant()).ResolveAsync(default);
            Assert.Equal(("blob", sha), (first.Source, first.Sha256));
            Assert.Equal(bytes, await File.ReadAllBytesAsync(first.Path));
            var second = await Provider(sha).ResolveAsync(default);
            Assert.Equal(("cache", first.Path), (second.Source, second.Path));

            var wrong = new string('0', 64);
            await Assert.ThrowsAsync<ModelIntegrityException>(() => Provider(wrong).ResolveAsync(default));
            Assert.Single(Directory.GetFiles(cache.FullName)); // nothing half-written left behind
        }
        finally
        {
            cache.Delete(recursive: true);
        }
    }

    [Fact]
    public void Model_options_need_exactly_one_source_and_the_hash_is_optional()
    {
        static int Errors(ModelOptions o) =>
            o.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(o)).Count();
        Assert.Equal(1, Errors(new ModelOptions()));
        Assert.Equal(1, Errors(new ModelOptions { Path = "a.onnx", BlobName = "b.onnx", Sha256 = new string('a', 64) }));
        // Unpinned, the blob's content is the model (its hash is logged and stored with each result): the template's default.
        Assert.Equal(0, Errors(new ModelOptions { BlobName = "b.onnx" }));
        Assert.Equal(0, Errors(new ModelOptions { Path = "a.onnx" }));
    }

    [Fact]
    public async Task A_result_whose_claim_was_taken_over_is_not_written_and_leaves_no_index_row()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var t0 = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var blob = new Blobs.BlobRef(harness.Images.Name, "race.jpg", "\"0x1\"");
        var mine = await harness.Claims.ClaimAsync(blob, t0, "mine", TimeSpan.FromSeconds(30), default);
        var theirs = await harness.Results.GetAsync(blob.Container, blob.Name, default);
        await harness.Claims.ReleaseAsync(theirs!, default); // the row changes under us

        var stored = await harness.Claims.CompleteAsync(mine.Entity, new ResultEntity
        {
            Container = blob.Container, BlobName = blob.Name, Status = ResultStatus.Succeeded, BlobETag = blob.ETag,
            Top1Index = 1, Top1Label = "goldfish", Top1Probability = 0.9, ProcessedAt = t0,
        }, default);

        Assert.False(stored);
        Assert.Equal(ResultStatus.Processing, (await harness.Results.GetAsync(blob.Container, blob.Name, default))!.Status);
        Assert.Empty((await harness.Results.QueryByLabelAsync("goldfish", 0, 10, null, default)).Items);
    }

    [Fact]
    public async Task An_older_version_never_replaces_the_result_of_a_newer_one()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var t0 = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await StoreAsync(harness, "v.jpg", "goldfish", 1, 0.9, t0.AddMinutes(5));
        var stored = await harness.Results.GetAsync(harness.Images.Name, "v.jpg", default);
        stored!.BlobLastModified = t0.AddMinutes(5);
        await harness.Storage.Results.UpdateEntityAsync(stored, stored.ETag, TableUpdateMode.Replace);

        var older = await harness.Claims.ClaimAsync(new Blobs.BlobRef(harness.Images.Name, "v.jpg", "\"0xOLD\""), t0, "late", TimeSpan.FromMinutes(1), default);

        Assert.Equal(ClaimStatus.Superseded, older.Status);
    }

    /// <summary>Writes a succeeded result through the store's own claim/complete path.</summary>
    private static async Task StoreAsync(PipelineHarness harness, string name, string label, int index, double probability, DateTimeOffset processedAt)
    {
        var blob = new Blobs.BlobRef(harness.Images.Name, name, $"\"0x{name.GetHashCode(StringComparison.Ordinal):X}\"");
        var claim = await harness.Claims.ClaimAsync(blob, processedAt, "test", TimeSpan.FromMinutes(1), default);
        var entity = new ResultEntity
        {
            Container = blob.Container,
            BlobName = name,
            Status = ResultStatus.Succeeded,
            BlobETag = blob.ETag,
            Top1Index = index,
            Top1Label = label,
            Top1Probability = probability,
            ProcessedAt = processedAt,
        };
        Assert.True(await harness.Claims.CompleteAsync(claim.Entity, entity, default));
    }

    [Fact]
    public async Task Progress_comes_from_stored_counters_not_from_reading_every_item_row()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        for (int i = 0; i < 6; i++)
        {
            await harness.UploadAsync($"c/{i}.png", TestImages.GeneratedPng(10 + i));
        }

        var job = await harness.Batches.StartAsync("c/", default);
        await DrainQueueAsync(harness, duplicateSome: true);

        // Remove the per-blob rows: progress must not depend on them (a million-blob job would read a million rows).
        var jobs = harness.Storage.BatchJobs;
        await foreach (var row in jobs.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {job.Id}"), select: ["PartitionKey", "RowKey"]))
        {
            if (row.RowKey.StartsWith("item_", StringComparison.Ordinal))
            {
                await jobs.DeleteEntityAsync(row.PartitionKey, row.RowKey);
            }
        }

        var progress = await harness.BatchJobs.GetAsync(job.Id, default);
        Assert.Equal(("completed", 6, 6, 0, 0), (progress!.Status, progress.Queued, progress.Succeeded, progress.Failed, progress.Skipped));
    }

    [Fact]
    public async Task Recording_the_same_outcome_again_counts_once_and_a_changed_outcome_moves_the_count()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var job = await harness.Batches.CreateJobAsync("x/", default);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => harness.BatchJobs.RecordAsync(job.Id, "x/a.png", OutcomeKind.Failed, "corrupt", default)));
        await harness.BatchJobs.RecordAsync(job.Id, "x/b.png", OutcomeKind.Skipped, "already_classified", default);
        await harness.BatchJobs.RecordAsync(job.Id, "x/b.png", OutcomeKind.Skipped, "already_classified", default);
        var counted = await harness.BatchJobs.GetAsync(job.Id, default);
        Assert.Equal((0, 1, 1), (counted!.Succeeded, counted.Failed, counted.Skipped));

        // A later real outcome replaces the failure; a skip never replaces a real outcome.
        await harness.BatchJobs.RecordAsync(job.Id, "x/a.png", OutcomeKind.Succeeded, null, default);
        await harness.BatchJobs.RecordAsync(job.Id, "x/a.png", OutcomeKind.Skipped, "already_classified", default);
        counted = await harness.BatchJobs.GetAsync(job.Id, default);
        Assert.Equal((1, 0, 1), (counted!.Succeeded, counted.Failed, counted.Skipped));
    }

    [Fact]
    public async Task Running_jobs_are_limited_and_a_completed_one_makes_room()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite, new Dictionary<string, string?>
        {
            ["Pipeline:MaxActiveBatchJobs"] = "1",
            ["Pipeline:MaxBatchJobBlobs"] = "1",
        });
        await harness.UploadAsync("l/a.png", TestImages.GeneratedPng(1));
        var first = await harness.Batches.StartAsync("l/", default);

        var refused = await Assert.ThrowsAsync<BatchJobLimitException>(() => harness.Batches.StartAsync("l/", default));
        Assert.Equal((1, 1), (refused.ActiveJobs, refused.MaxActiveJobs));

        await DrainQueueAsync(harness, duplicateSome: false);
        Assert.Equal("completed", (await harness.BatchJobs.GetAsync(first.Id, default))!.Status);
        var second = await harness.Batches.StartAsync("l/", default); // the first completed: room again
        Assert.NotEqual(first.Id, second.Id);

    }

    [Fact]
    public async Task A_job_stops_listing_at_its_size_limit_and_says_it_was_truncated()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite, new Dictionary<string, string?> { ["Pipeline:MaxBatchJobBlobs"] = "1000" });
        await Parallel.ForEachAsync(Enumerable.Range(0, 1001), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await harness.Images.UploadBlobAsync($"big/{i:D4}.png", BinaryData.FromBytes([1]), ct));
        var job = await harness.Batches.CreateJobAsync("big/", default);

        var (names, continuation) = await harness.Batches.EnumeratePageAsync(new BatchMessage(BatchMessage.EnumerateKind, job.Id, Page: 1), "big/", enqueue: false, default);

        Assert.Equal(1000, names.Count);
        Assert.Null(continuation); // the 1001st blob is never listed
        var progress = await harness.BatchJobs.GetAsync(job.Id, default);
        Assert.Equal((1000, true, "running"), (progress!.Queued, progress.Truncated, progress.Status));
    }

    [Theory]
    [InlineData("{\"kind\":\"classify\",\"jobId\":null,\"name\":\"a.png\"}")]
    [InlineData("{\"kind\":\"classify\",\"name\":\"a.png\"}")]
    [InlineData("{\"kind\":\"classify\",\"jobId\":\"../../x\",\"name\":\"a.png\"}")]
    [InlineData("{\"kind\":\"classify\",\"jobId\":\"0123456789abcdef0123456789abcdef\",\"name\":\"\"}")]
    [InlineData("not json")]
    public async Task A_malformed_poison_message_is_dropped_without_throwing(string body)
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        await harness.Batches.RecordPoisonedAsync(body, default);
    }

    internal static async Task<int> DrainQueueAsync(PipelineHarness harness, bool duplicateSome)
    {
        var queue = harness.Storage.ClassifyQueue;
        int handled = 0, received = 0;
        while (true)
        {
            var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1))).Value;
            if (messages.Length == 0)
            {
                break;
            }

            await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (message, ct) =>
            {
                var parsed = BatchJobService.Parse(message.MessageText);
                bool duplicate = duplicateSome && Interlocked.Increment(ref received) % 3 == 0;
                for (int delivery = 0; delivery < (duplicate ? 2 : 1); delivery++)
                {
                    await harness.Batches.HandleAsync(parsed, $"{message.MessageId}-{delivery}", ct);
                    Interlocked.Increment(ref handled);
                }

                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, ct);
            });
        }

        return handled;
    }
}
