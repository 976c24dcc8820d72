using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Functions.Api;
using ResNeSt.Functions.Triggers;
using ResNeSt.Pipeline.Serialization;
using ResNeSt.Pipeline.Tagging;
using ResNeSt.TestSupport;
using static ResNeSt.Functions.Tests.HttpFunctionCalls;

namespace ResNeSt.Functions.Tests;

/// <summary>The function classes, resolved from the app's DI wiring, invoked as the host would, against Azurite.</summary>
[Collection(AzuriteFixture.Collection)]
public sealed class EndToEndTests(AzuriteFixture azurite)
{
    private static Task TriggerAsync(PipelineHarness harness, string name, string invocationId = "inv") =>
        Function<ClassifyUploadedImage>(harness).RunAsync(
            harness.Images.GetBlobClient(name), new TestFunctionContext(invocationId, harness.Services), default);

    [Fact]
    public async Task Upload_then_blob_trigger_then_http_returns_the_stored_result()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var blob = await harness.UploadAsync("trips/2024/dog.jpg", TestImages.Sample("dog.jpg"));

        await TriggerAsync(harness, "trips/2024/dog.jpg");

        var response = await (await Function<ResultsApi>(harness).GetAsync(HttpTest.Get(), "trips/2024/dog.jpg", default)).ExecuteAsync();
        Assert.Equal(200, response.Status);
        Assert.StartsWith("application/json", response.ContentType, StringComparison.Ordinal);
        var result = response.Json(PipelineJsonContext.Default.ResultDocument);
        Assert.Equal(("images", "trips/2024/dog.jpg", "succeeded"), (result.Container, result.Name, result.Status));
        Assert.Equal((await blob.GetPropertiesAsync()).Value.ETag.ToString(), result.BlobETag);
        Assert.Equal(5, result.Predictions!.Count);
        Assert.Equal(harness.Model.Model!.Sha256, result.Model!.Sha256);
        Assert.Equal("jpeg", result.Image!.Format);
        Assert.NotNull(result.Timings!.InferenceMs);
        var tags = (await blob.GetTagsAsync()).Value.Tags;
        Assert.Equal(BlobTagger.SanitizeValue(result.Top1!.Label), tags[BlobTagger.LabelKey]);

        // ... and the label index finds it.
        var list = await (await Function<ResultsApi>(harness).ListAsync(HttpTest.Get($"?label={Uri.EscapeDataString(result.Top1.Label)}"), default)).ExecuteAsync();
        var page = list.Json(PipelineJsonContext.Default.LabelResultPage);
        var item = Assert.Single(page.Items);
        Assert.Equal(("trips/2024/dog.jpg", result.BlobETag), (item.Name, item.BlobETag));

        var missing = await (await Function<ResultsApi>(harness).GetAsync(HttpTest.Get(), "nope.jpg", default)).ExecuteAsync();
        Assert.Equal(404, missing.Status);
        Assert.Equal("not_found", missing.Root.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Overwrite_through_the_trigger_replaces_result_and_index_entry()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        await harness.UploadAsync("o.png", TestImages.Sample("camera.png"));
        await TriggerAsync(harness, "o.png", "first");
        await harness.UploadAsync("o.png", TestImages.Sample("coffee.png"));
        await TriggerAsync(harness, "o.png", "second");
        await TriggerAsync(harness, "o.png", "second-again");

        var result = (await (await Function<ResultsApi>(harness).GetAsync(HttpTest.Get(), "o.png", default)).ExecuteAsync())
            .Json(PipelineJsonContext.Default.ResultDocument);
        Assert.Equal((await harness.Images.GetBlobClient("o.png").GetPropertiesAsync()).Value.ETag.ToString(), result.BlobETag);
        Assert.Equal(2, harness.Inferences);
        var rows = new List<TableEntity>();
        await foreach (var row in harness.Storage.LabelIndex.QueryAsync<TableEntity>())
        {
            rows.Add(row);
        }

        Assert.Equal(result.BlobETag, Assert.Single(rows).GetString("BlobETag"));
    }

    [Fact]
    public async Task Duplicate_events_through_the_trigger_cause_one_inference()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        await harness.UploadAsync("twice.jpg", TestImages.Sample("rocket.jpg"));

        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => TriggerAsync(harness, "twice.jpg", $"event-{i}"))));
        await TriggerAsync(harness, "twice.jpg", "event-late");

        Assert.Equal(1, harness.Inferences);
    }

    [Theory]
    [InlineData("empty.png", "empty")]
    [InlineData("text.png", "unsupported_format")]
    [InlineData("truncated.png", "corrupt")]
    [InlineData("bomb.png", "pixel_budget_exceeded")]
    public async Task Bad_uploads_return_normally_and_are_reported_as_failed(string name, string code)
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        byte[] content = name switch
        {
            "empty.png" => [],
            "text.png" => TestImages.Text(),
            "truncated.png" => TestImages.TruncatedPng(),
            _ => TestImages.HugeDeclaredPng(),
        };
        await harness.UploadAsync(name, content);

        await TriggerAsync(harness, name); // no exception: the host does not retry

        var response = await (await Function<ResultsApi>(harness).GetAsync(HttpTest.Get(), name, default)).ExecuteAsync();
        var result = response.Json(PipelineJsonContext.Default.ResultDocument);
        Assert.Equal("failed", result.Status);
        Assert.Equal(code, result.Error!.Code);
        Assert.Null(result.Top1);
    }

    [Theory]
    [InlineData("?label=tabby'%20or%20PartitionKey%20ne%20'")]
    [InlineData("?label=x')%20or%20(1%20eq%201")]
    [InlineData("?label=tabby%20cat%27%20or%20true")]
    [InlineData("?label=golden%20retriever&$filter=PartitionKey%20ne%20''")]
    [InlineData("?label=golden%20retriever&top=0")]
    [InlineData("?label=golden%20retriever&top=1e3")]
    [InlineData("?label=golden%20retriever&minProbability=2")]
    [InlineData("?label=golden%20retriever&continuationToken=garbage!")]
    [InlineData("?label=golden%20retriever&label=tabby")]
    [InlineData("")]
    public async Task Queries_with_odata_looking_or_invalid_values_are_rejected(string query)
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var response = await (await Function<ResultsApi>(harness).ListAsync(HttpTest.Get(query), default)).ExecuteAsync();
        Assert.Equal(400, response.Status);
        Assert.Equal("application/problem+json; charset=utf-8", response.ContentType);
    }

    [Fact]
    public async Task Results_by_label_page_newest_first_through_continuation_tokens()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var bytes = TestImages.Sample("camera.png"); // same pixels: same top-1 for all
        for (int i = 0; i < 5; i++)
        {
            await harness.UploadAsync($"same/{i}.png", bytes);
            await TriggerAsync(harness, $"same/{i}.png");
        }

        var label = (await harness.Results.GetAsync("images", "same/0.png", default))!.Top1Label!;
        var names = new List<string>();
        string? token = null;
        do
        {
            var query = $"?label={Uri.EscapeDataString(label)}&top=2" + (token is null ? "" : $"&continuationToken={Uri.EscapeDataString(token)}");
            var response = await (await Function<ResultsApi>(harness).ListAsync(HttpTest.Get(query), default)).ExecuteAsync();
            Assert.Equal(200, response.Status);
            var page = response.Json(PipelineJsonContext.Default.LabelResultPage);
            Assert.InRange(page.Items.Count, 0, 2);
            names.AddRange(page.Items.Select(i => i.Name));
            token = page.ContinuationToken;
        }
        while (token is not null);

        Assert.Equal(["same/4.png", "same/3.png", "same/2.png", "same/1.png", "same/0.png"], names);
    }

    [Fact]
    public async Task Classify_endpoint_answers_without_storing_and_maps_rejections_to_statuses()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite, new Dictionary<string, string?> { ["Pipeline:MaxImageBytes"] = "500000" });
        var api = Function<ClassifyApi>(harness);

        var ok = await (await api.PostAsync(HttpTest.Post(TestImages.Sample("camera.png"), "image/png"), default)).ExecuteAsync();
        Assert.Equal(200, ok.Status);
        var document = ok.Json(PipelineJsonContext.Default.ClassificationDocument);
        Assert.Equal(5, document.Predictions.Count);
        Assert.Equal("png", document.Image.Format);

        var big = TestImages.Sample("dog.jpg"); // 661 KB > 500 KB
        Assert.Equal(413, (await (await api.PostAsync(HttpTest.Post(big, "image/jpeg"), default)).ExecuteAsync()).Status);
        Assert.Equal(413, (await (await api.PostAsync(HttpTest.Post(big, "image/jpeg", declareLength: false), default)).ExecuteAsync()).Status);
        Assert.Equal(415, (await (await api.PostAsync(HttpTest.Post(TestImages.Text(), "text/plain"), default)).ExecuteAsync()).Status);
        Assert.Equal(415, (await (await api.PostAsync(HttpTest.Post(TestImages.Text(), "application/octet-stream"), default)).ExecuteAsync()).Status);
        var corrupt = await (await api.PostAsync(HttpTest.Post(TestImages.TruncatedPng(), "image/png"), default)).ExecuteAsync();
        Assert.Equal((422, "corrupt"), (corrupt.Status, corrupt.Root.GetProperty("code").GetString()));
        Assert.Equal(422, (await (await api.PostAsync(HttpTest.Post(TestImages.HugeDeclaredPng(), "image/png"), default)).ExecuteAsync()).Status);
        Assert.Equal(400, (await (await api.PostAsync(HttpTest.Post([], "image/png"), default)).ExecuteAsync()).Status);

        await foreach (var _ in harness.Storage.Results.QueryAsync<TableEntity>())
        {
            Assert.Fail("POST /api/classify must not store anything.");
        }
    }

    [Fact]
    public async Task Batch_api_starts_a_job_the_queue_functions_complete_and_reports_progress()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        for (int i = 0; i < 12; i++)
        {
            await harness.UploadAsync($"old/{i:D2}.png", TestImages.GeneratedPng(i, 40, 32));
        }

        await harness.UploadAsync("new/x.png", TestImages.GeneratedPng(99, 40, 32));
        var api = Function<BatchesApi>(harness);

        var started = await (await api.StartAsync(HttpTest.Post("""{"prefix":"old/"}"""u8.ToArray(), "application/json"), default)).ExecuteAsync();
        Assert.Equal(202, started.Status);
        var job = started.Json(PipelineJsonContext.Default.BatchJobDocument);
        Assert.Equal($"/api/batches/{job.Id}", started.Location);
        Assert.Equal(("images", "old/"), (job.Container, job.Prefix));

        // The queue trigger, fed from the real queue (base64 bodies, as the host decodes them).
        var queueFunction = Function<BatchQueueFunctions>(harness);
        while ((await harness.Storage.ClassifyQueue.ReceiveMessagesAsync(32)).Value is { Length: > 0 } messages)
        {
            foreach (var message in messages)
            {
                await queueFunction.RunAsync(message.MessageText, new TestFunctionContext(message.MessageId, harness.Services), default);
                await harness.Storage.ClassifyQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }

        // A message that exhausted its retries counts as failed.
        await queueFunction.RunPoisonAsync("""{"kind":"classify","jobId":"JOB","name":"old/03.png"}""".Replace("JOB", job.Id, StringComparison.Ordinal), default);

        var progress = await (await api.GetAsync(HttpTest.Get(), job.Id, default)).ExecuteAsync();
        Assert.Equal(200, progress.Status);
        var document = progress.Json(PipelineJsonContext.Default.BatchJobDocument);
        Assert.Equal(("completed", 12, 11, 1, 0), (document.Status, document.Queued, document.Succeeded, document.Failed, document.Skipped));
        Assert.Equal(12, harness.Inferences);
        Assert.Null(await harness.Results.GetAsync("images", "new/x.png", default));

        Assert.Equal(400, (await (await api.GetAsync(HttpTest.Get(), "../etc", default)).ExecuteAsync()).Status);
        Assert.Equal(404, (await (await api.GetAsync(HttpTest.Get(), new string('a', 32), default)).ExecuteAsync()).Status);
        Assert.Equal(400, (await (await api.StartAsync(HttpTest.Post("{not json"u8.ToArray(), "application/json"), default)).ExecuteAsync()).Status);
    }

    [Fact]
    public async Task Health_reports_the_loaded_model()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var response = await (await Function<HealthApi>(harness).GetAsync(HttpTest.Get(), default)).ExecuteAsync();
        Assert.Equal(200, response.Status);
        var health = response.Json(PipelineJsonContext.Default.HealthDocument);
        Assert.True(health.Ready);
        Assert.Equal(harness.Model.Model!.Sha256, health.ModelSha256);
        Assert.Equal(harness.Model.Classifier!.Model.Variant, health.Variant);
        Assert.Equal("CPUExecutionProvider", health.ExecutionProvider);
        Assert.Equal(harness.Model.Classifier.Model.CropSize, health.CropSize);
    }
}
