using System.Security.Cryptography;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Functions.Api;
using ResNeSt.Functions.Triggers;
using ResNeSt.Inference.Classification;
using ResNeSt.TestSupport;
using static ResNeSt.Functions.Tests.HttpFunctionCalls;
using ResNeSt.Pipeline.ModelLoading;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Results;
using ResNeSt.Pipeline.Serialization;

namespace ResNeSt.Functions.Tests;

/// <summary>
/// A missing, corrupt, wrong-hash or wrong-contract model: /api/health answers 503 with a failure code, invocations
/// (blob trigger and batch queue) fail retriably with <see cref="ModelUnavailableException"/> and write nothing, and
/// once a good model is in place the next load attempt after <c>Model:ReloadInterval</c> recovers both.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class ModelFaultTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("resnest-model-faults-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Cases => ["missing", "truncated", "garbage", "sha256_mismatch", "output_10_classes", "wrong_input_name"];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_bad_model_makes_health_503_and_invocations_retriable_until_a_good_model_is_in_place(string fault)
    {
        var good = await File.ReadAllBytesAsync(TestModel.Path);
        var goodSha = Convert.ToHexStringLower(SHA256.HashData(good));
        var path = Path.Combine(_dir, "model.onnx");
        var card = TinyModel.Card(32).ToMetadata();
        (byte[]? bytes, string reason) = fault switch
        {
            "missing" => ((byte[]?)null, "FileNotFoundException"),
            "truncated" => (good[..(good.Length / 2)], "ModelContractException"),
            "garbage" => (RandomNumberGenerator.GetBytes(4096), "ModelContractException"),
            "sha256_mismatch" => (TinyModel.Create(metadata: card).Bytes, "ModelIntegrityException"),
            "output_10_classes" => (TinyModel.Create(classes: 10, metadata: card).Bytes, "[N,1000]"),
            _ => (TinyModel.Create(inputName: "data", metadata: card).Bytes, "'input'"),
        };
        string code = fault switch
        {
            "missing" => "model_not_found",
            "sha256_mismatch" => "model_hash_mismatch",
            _ => "model_invalid",
        };
        if (bytes is not null)
        {
            await File.WriteAllBytesAsync(path, bytes);
        }

        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var settings = new Dictionary<string, string?> { ["Model:Path"] = path, ["Model:ReloadInterval"] = "00:00:30" };
        if (fault == "sha256_mismatch")
        {
            settings["Model:Sha256"] = goodSha; // the app is pinned to the good model; a valid but different one is in place
        }

        await using var harness = await PipelineHarness.StartAsync(azurite, settings, services => services.AddSingleton<TimeProvider>(clock));

        // Health (anonymous): 503 with the failure code only; the full reason is in the runtime, the logs and the
        // exception the host sees.
        var health = await (await Function<HealthApi>(harness).GetAsync(HttpTest.Get(), default)).ExecuteAsync();
        Assert.Equal(503, health.Status);
        var document = health.Json(PipelineJsonContext.Default.HealthDocument);
        Assert.False(document.Ready);
        Assert.Null(document.ModelSha256);
        Assert.Equal(code, document.Error);
        Assert.Contains(reason, harness.Model.LastError, StringComparison.Ordinal);

        // Invocations fail retriably (the host retries them), and nothing is written: no result, no claim, no job item.
        var blob = await harness.UploadAsync("photos/cat.png", TestImages.GeneratedPng(11));
        var trigger = await Assert.ThrowsAsync<ModelUnavailableException>(() => Function<ClassifyUploadedImage>(harness)
            .RunAsync(blob, new TestFunctionContext("event-1", harness.Services), default));
        Assert.Contains(reason, trigger.Message, StringComparison.Ordinal);
        var job = await harness.Batches.CreateJobAsync("photos/", default);
        var message = $$"""{"kind":"classify","jobId":"{{job.Id}}","name":"photos/cat.png"}""";
        await Assert.ThrowsAsync<ModelUnavailableException>(() => Function<BatchQueueFunctions>(harness)
            .RunAsync(message, new TestFunctionContext("message-1", harness.Services), default));
        Assert.Empty(await RowsAsync(harness.Storage.Results));
        Assert.Equal(0, (await harness.BatchJobs.GetAsync(job.Id, default))!.Failed);

        // A good model is put in place. Within the reload interval invocations still fail fast with the same reason ...
        await File.WriteAllBytesAsync(path, good);
        await Assert.ThrowsAsync<ModelUnavailableException>(() => Function<ClassifyUploadedImage>(harness)
            .RunAsync(blob, new TestFunctionContext("event-2", harness.Services), default));

        // ... and after it the next load attempt (here the health probe's) recovers: ready, and the retries classify.
        clock.Advance(TimeSpan.FromSeconds(31));
        health = await (await Function<HealthApi>(harness).GetAsync(HttpTest.Get(), default)).ExecuteAsync();
        Assert.Equal(200, health.Status);
        document = health.Json(PipelineJsonContext.Default.HealthDocument);
        Assert.True(document.Ready);
        Assert.Equal(goodSha, document.ModelSha256);
        Assert.Null(document.Error);

        await Function<ClassifyUploadedImage>(harness).RunAsync(blob, new TestFunctionContext("event-3", harness.Services), default);
        await Function<BatchQueueFunctions>(harness).RunAsync(message, new TestFunctionContext("message-1-retry", harness.Services), default);
        var result = Assert.Single(await RowsAsync(harness.Storage.Results));
        Assert.Equal((ResultStatus.Succeeded, goodSha), (result.GetString("Status"), result.GetString("ModelSha256")));
        Assert.Equal(1, harness.Inferences);
        Assert.Equal(1, (await harness.BatchJobs.GetAsync(job.Id, default))!.Succeeded);
    }

    [Fact]
    public async Task A_model_that_loads_at_start_up_keeps_serving_and_health_stays_200()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var health = await (await Function<HealthApi>(harness).GetAsync(HttpTest.Get(), default)).ExecuteAsync();
        Assert.Equal(200, health.Status);
        var blob = await harness.UploadAsync("ok.png", TestImages.GeneratedPng(12));
        var outcome = await harness.Pipeline.ProcessAsync(blob, "inv", default);
        Assert.Equal(OutcomeKind.Succeeded, outcome.Kind);
    }

    private static async Task<List<TableEntity>> RowsAsync(TableClient table)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task A_caller_that_gives_up_does_not_abort_the_shared_load_and_the_engine_is_built_once()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var warmUpGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int builds = 0;
        ClassifierFactory gated = model =>
        {
            Interlocked.Increment(ref builds);
            return new GatedClassifier(EngineClassifier.FromServices(harness.Services)(model), warmUpGate.Task);
        };
        var runtime = ActivatorUtilities.CreateInstance<ModelRuntime>(harness.Services, gated);
        await using (runtime)
        {
            // An aborted health probe: its wait ends, the load it started goes on.
            using var probe = new CancellationTokenSource();
            var abandoned = runtime.GetClassifierAsync(probe.Token).AsTask();
            while (Volatile.Read(ref builds) == 0)
            {
                await Task.Delay(10);
            }

            await probe.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
            Assert.False(runtime.IsReady);

            var waiting = runtime.GetClassifierAsync(default).AsTask();
            warmUpGate.SetResult();
            var classifier = await waiting;
            Assert.True(runtime.IsReady);
            Assert.Same(classifier, await runtime.GetClassifierAsync(default));
            Assert.Equal(1, builds);
            Assert.Null(runtime.LastError);
        }
    }

    /// <summary>The real classifier, whose answers wait for a gate (so a test can hold the warm-up).</summary>
    private sealed class GatedClassifier(IImageClassifier inner, Task gate) : IImageClassifier, IAsyncDisposable
    {
        public ResNeSt.Models.Metadata.ModelCard Model => inner.Model;

        public string ExecutionProvider => inner.ExecutionProvider;

        public async Task<ClassificationResult> ClassifyAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default)
        {
            await gate.WaitAsync(cancellationToken);
            return await inner.ClassifyAsync(encodedImage, cancellationToken);
        }

        public async Task<ClassificationResult> ClassifyIfRoomAsync(ReadOnlyMemory<byte> encodedImage, CancellationToken cancellationToken = default)
        {
            await gate.WaitAsync(cancellationToken);
            return await inner.ClassifyIfRoomAsync(encodedImage, cancellationToken);
        }

        public ValueTask DisposeAsync() => ClassifierLifetime.DisposeAsync(inner);
    }
}
