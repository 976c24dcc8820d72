using Azure;
using Azure.Data.Tables;
using ResNeSt.Pipeline.Claims;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Tagging;
using ResNeSt.TestSupport;

namespace ResNeSt.Pipeline.Tests;

[Collection(AzuriteFixture.Collection)]
public sealed class PipelineTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Upload_is_classified_into_result_label_index_and_tags()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("cams/camera.png", TestImages.Sample("camera.png"));

        var outcome = await harness.Pipeline.ProcessAsync(blob, "inv-1", default);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        var result = await harness.Results.GetAsync(harness.Images.Name, "cams/camera.png", default);
        Assert.NotNull(result);
        Assert.Equal(ResultStatus.Succeeded, result.Status);
        var properties = await blob.GetPropertiesAsync();
        Assert.Equal(properties.Value.ETag.ToString(), result.BlobETag);
        Assert.Equal(properties.Value.ContentLength, result.ContentLength);
        Assert.Equal("png", result.ImageFormat);
        Assert.NotNull(result.Top1Label);
        Assert.InRange(result.Top1Probability!.Value, 0, 1);
        Assert.Equal(harness.Model.Model!.Sha256, result.ModelSha256);
        var document = ResultMapping.ToDocument(result);
        Assert.Equal(5, document.Predictions!.Count);
        Assert.Equal(document.Top1, document.Predictions[0]);

        var index = await IndexRowsAsync(harness);
        var row = Assert.Single(index);
        Assert.Equal(TableKeys.ForLabel(result.Top1Label), row.PartitionKey);
        Assert.Equal("cams/camera.png", row.GetString("BlobName"));

        var tags = (await blob.GetTagsAsync()).Value.Tags;
        Assert.Equal(BlobTagger.SanitizeValue(result.Top1Label), tags[BlobTagger.LabelKey]);
        Assert.Equal(result.Top1Index!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), tags[BlobTagger.ClassIndexKey]);
        Assert.Equal(harness.Model.Classifier!.Model.Variant, tags[BlobTagger.ModelKey]);
        Assert.Equal(1, harness.Inferences);
    }

    [Fact]
    public async Task Overwrite_is_classified_again_and_the_label_index_follows()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("photo.png", TestImages.GeneratedPng(1));
        await harness.Pipeline.ProcessAsync(blob, "inv-1", default);
        var first = await harness.Results.GetAsync(harness.Images.Name, "photo.png", default);

        // Different pixels: a new ETag, usually a different label.
        await harness.UploadAsync("photo.png", TestImages.Sample("rocket.jpg"));
        var outcome = await harness.Pipeline.ProcessAsync(blob, "inv-2", default);

        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
        var second = await harness.Results.GetAsync(harness.Images.Name, "photo.png", default);
        Assert.NotEqual(first!.BlobETag, second!.BlobETag);
        Assert.Equal("jpeg", second.ImageFormat);
        Assert.Equal(2, harness.Inferences);
        var index = await IndexRowsAsync(harness);
        var row = Assert.Single(index); // the first version's row is gone
        Assert.Equal(second.IndexRowKey, row.RowKey);
        Assert.Equal(second.BlobETag, row.GetString("BlobETag"));
        Assert.Equal(TableKeys.ForLabel(second.Top1Label!), row.PartitionKey);
        Assert.Null(second.SupersededIndexRowKey);
    }

    [Fact]
    public async Task A_late_index_write_for_an_overwritten_version_is_withdrawn()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("late.png", TestImages.GeneratedPng(1));
        await harness.Pipeline.ProcessAsync(blob, "inv-1", default);
        var first = await harness.Results.GetAsync(harness.Images.Name, "late.png", default);

        // The second version is classified and moves the index entry while the first delivery's index write is still
        // held back (an SDK retry); then that write lands.
        await harness.UploadAsync("late.png", TestImages.Sample("rocket.jpg"));
        await harness.Pipeline.ProcessAsync(blob, "inv-2", default);
        var second = await harness.Results.GetAsync(harness.Images.Name, "late.png", default);
        Assert.NotEqual(first!.IndexRowKey, second!.IndexRowKey);
        await harness.Index.RepairAsync(first, default);

        var row = Assert.Single(await IndexRowsAsync(harness));
        Assert.Equal((second.IndexPartitionKey, second.IndexRowKey), (row.PartitionKey, row.RowKey));
    }

    [Fact]
    public async Task An_upload_recorded_as_undelivered_is_classified_by_its_next_delivery_and_a_final_result_is_not()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("undelivered.jpg", TestImages.Sample("dog.jpg"));

        // The host gave up on it (its poison message): a failed result that says why, not final.
        Assert.True(await harness.Undelivered.RecordUndeliveredAsync(blob, Redrive.UndeliveredReasons.ModelUnavailable, "model down", default));
        var recorded = await harness.Results.GetAsync(harness.Images.Name, "undelivered.jpg", default);
        Assert.Equal((ResultStatus.Failed, "model_unavailable"), (recorded!.Status, recorded.ErrorCode));

        var redriven = await harness.Pipeline.ProcessAsync(blob, "redrive-1", default);
        Assert.Equal(OutcomeKind.Succeeded, redriven.Kind);
        Assert.Equal(1, harness.Inferences);

        // Once classified, a late poison message for the same version records nothing over it.
        Assert.False(await harness.Undelivered.RecordUndeliveredAsync(blob, Redrive.UndeliveredReasons.DeliveryFailed, "late", default));
        Assert.Equal(ResultStatus.Succeeded, (await harness.Results.GetAsync(harness.Images.Name, "undelivered.jpg", default))!.Status);
    }

    [Fact]
    public async Task Duplicate_deliveries_of_one_version_are_classified_once()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("dup.jpg", TestImages.Sample("dog.jpg"));

        // Event Grid may deliver the same BlobCreated several times, concurrently.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            Task.Run(() => harness.Pipeline.ProcessAsync(harness.Images.GetBlobClient("dup.jpg"), $"inv-{i}", default))));
        // ... and again later.
        var late = await harness.Pipeline.ProcessAsync(blob, "inv-late", default);

        Assert.Equal(1, harness.Inferences);
        Assert.Single(outcomes, o => o.Kind == OutcomeKind.Succeeded);
        Assert.All(outcomes.Where(o => o.Kind != OutcomeKind.Succeeded), o => Assert.Equal(OutcomeKind.Skipped, o.Kind));
        Assert.Equal(SkipReasons.AlreadyClassified, late.Detail);
        Assert.Single(await IndexRowsAsync(harness));
    }

    [Fact]
    public async Task A_version_claimed_by_another_live_invocation_is_retried_not_dropped()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("busy.png", TestImages.GeneratedPng(5));
        var properties = (await blob.GetPropertiesAsync()).Value;
        var other = await harness.Claims.ClaimAsync(
            new Blobs.BlobRef(harness.Images.Name, "busy.png", properties.ETag.ToString()), properties.LastModified, "other-worker", TimeSpan.FromMinutes(5), default);
        Assert.Equal(ClaimStatus.Claimed, other.Status);

        await Assert.ThrowsAsync<BlobBusyException>(() => harness.Pipeline.ProcessAsync(blob, "inv-1", default));
        Assert.Equal(0, harness.Inferences);

        // The other worker dies and gives the claim back (or it expires): the retry classifies.
        await harness.Claims.ReleaseAsync(other.Entity, default);
        var retry = await harness.Pipeline.ProcessAsync(blob, "inv-1-retry", default);
        Assert.Equal(OutcomeKind.Succeeded, retry.Kind);
    }

    public static TheoryData<string, Func<byte[]>, string> BadUploads => new()
    {
        { "empty.jpg", () => [], "empty" },
        { "notes.jpg", TestImages.Text, "unsupported_format" },
        { "truncated.png", TestImages.TruncatedPng, "corrupt" },
        { "bomb.png", TestImages.HugeDeclaredPng, "pixel_budget_exceeded" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task Bad_uploads_become_failed_results_and_are_not_retried(string name, Func<byte[]> content, string code)
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync(name, content());

        var outcome = await harness.Pipeline.ProcessAsync(blob, "inv-1", default); // returns: nothing for the host to retry
        var again = await harness.Pipeline.ProcessAsync(blob, "inv-2", default);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Equal(code, outcome.Detail);
        var result = await harness.Results.GetAsync(harness.Images.Name, name, default);
        Assert.Equal(ResultStatus.Failed, result!.Status);
        Assert.Equal(code, result.ErrorCode);
        Assert.False(string.IsNullOrWhiteSpace(result.ErrorMessage));
        Assert.Equal(SkipReasons.AlreadyClassified, again.Detail);
        Assert.Empty(await IndexRowsAsync(harness));
        Assert.DoesNotContain(BlobTagger.LabelKey, (await blob.GetTagsAsync()).Value.Tags.Keys);
    }

    [Fact]
    public async Task Oversized_blobs_fail_from_their_properties_without_reaching_the_engine()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite, new Dictionary<string, string?> { ["Pipeline:MaxImageBytes"] = "10000" });
        var blob = await harness.UploadAsync("big.jpg", TestImages.Sample("rocket.jpg"));

        var outcome = await harness.Pipeline.ProcessAsync(blob, "inv-1", default);

        Assert.Equal(OutcomeKind.Failed, outcome.Kind);
        Assert.Equal("too_large", outcome.Detail);
        Assert.Equal(0, harness.Inferences);
    }

    [Fact]
    public async Task A_blob_deleted_before_processing_is_skipped()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("gone.png", TestImages.GeneratedPng(2));
        await blob.DeleteAsync();

        var outcome = await harness.Pipeline.ProcessAsync(blob, "inv-1", default);

        Assert.Equal(SkipReasons.Deleted, outcome.Detail);
        Assert.Null(await harness.Results.GetAsync(harness.Images.Name, "gone.png", default));
    }

    [Fact]
    public async Task Storage_failures_are_thrown_for_the_host_to_retry_and_leave_no_claim()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("later.png", TestImages.GeneratedPng(3));
        await harness.Storage.LabelIndex.DeleteAsync(); // the index write fails (404 TableNotFound)

        await Assert.ThrowsAsync<RequestFailedException>(() => harness.Pipeline.ProcessAsync(blob, "inv-1", default));
        var claimed = await harness.Results.GetAsync(harness.Images.Name, "later.png", default);
        Assert.Null(claimed!.ClaimId);

        // The result row was stored before its index row: the retry finds it, writes the missing index row and
        // classifies nothing again.
        await harness.Storage.LabelIndex.CreateIfNotExistsAsync();
        var retry = await harness.Pipeline.ProcessAsync(blob, "inv-1-retry", default);
        Assert.Equal((OutcomeKind.Skipped, SkipReasons.AlreadyClassified, ResultStatus.Succeeded), (retry.Kind, retry.Detail, retry.Result!.Status));
        Assert.Equal("later.png", Assert.Single(await IndexRowsAsync(harness)).GetString("BlobName"));
        Assert.Equal(1, harness.Inferences);
    }

    [Fact]
    public async Task Names_with_key_forbidden_characters_and_1024_characters_are_stored_and_found()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        string[] names =
        [
            "a#b/c?d\\e f.png",
            string.Join('/', Enumerable.Range(0, 100).Select(i => $"dir{i:D5}")).PadRight(1024, 'x')[..1024],
        ];
        var png = TestImages.GeneratedPng(4);
        foreach (var name in names)
        {
            var blob = await harness.UploadAsync(name, png);
            Assert.Equal(OutcomeKind.Succeeded, (await harness.Pipeline.ProcessAsync(blob, "inv", default)).Kind);
            var result = await harness.Results.GetAsync(harness.Images.Name, name, default);
            Assert.Equal(name, result!.BlobName);
        }

        Assert.Equal(2, (await IndexRowsAsync(harness)).Count);
    }

    [Fact]
    public async Task Blobs_outside_the_images_container_are_ignored()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var other = harness.Storage.Blobs.GetBlobContainerClient("elsewhere");
        await other.CreateIfNotExistsAsync();
        var blob = other.GetBlobClient("x.png");
        await blob.UploadAsync(new BinaryData(TestImages.GeneratedPng(1)));

        var outcome = await harness.Pipeline.ProcessAsync(blob, "inv", default);

        Assert.Equal(SkipReasons.WrongContainer, outcome.Detail);
        Assert.Equal(0, harness.Inferences);
    }

    [Fact]
    public async Task Tags_set_by_the_uploader_are_kept()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("tagged.png", TestImages.GeneratedPng(8));
        await blob.SetTagsAsync(new Dictionary<string, string> { ["owner"] = "alice", [BlobTagger.LabelKey] = "stale" });

        await harness.Pipeline.ProcessAsync(blob, "inv", default);

        var tags = (await blob.GetTagsAsync()).Value.Tags;
        Assert.Equal("alice", tags["owner"]);
        Assert.NotEqual("stale", tags[BlobTagger.LabelKey]);
        Assert.Equal(5, tags.Count);
    }

    private static async Task<List<TableEntity>> IndexRowsAsync(PipelineHarness harness)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in harness.Storage.LabelIndex.QueryAsync<TableEntity>())
        {
            rows.Add(row);
        }

        return rows;
    }
}
