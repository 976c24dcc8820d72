using System.CommandLine;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using ResNeSt.Cli.Commands;
using ResNeSt.Cli.Tests.Infrastructure;
using ResNeSt.DevTool.Commands;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Hosting;
using ResNeSt.Pipeline.Processing;
using ResNeSt.Pipeline.Storage;
using ResNeSt.TestSupport;

namespace ResNeSt.Cli.Tests.Commands;

/// <summary><c>resnest tag</c> and <c>resnest-dev demo</c> end to end: real parsing, a private Azurite, a reduced random-weights ResNeSt.</summary>
public sealed class PipelineCommandsTests : IAsyncLifetime
{
    private AzuriteWithModel? _storage;

    private AzuriteWithModel Storage => _storage ?? throw new InvalidOperationException("Not initialised.");

    public async Task InitializeAsync() => _storage = await AzuriteWithModel.StartAsync("resnest-cli-pipeline-", seed: 3);

    public async Task DisposeAsync()
    {
        if (_storage is not null)
        {
            await _storage.DisposeAsync();
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> InvokeAsync(params string[] args)
    {
        var root = new RootCommand { TagCommand.Create(), DemoCommand.Create() };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Tag_classifies_and_tags_every_blob_under_the_prefix_and_reports_the_job()
    {
        var blobs = new BlobServiceClient(Storage.ConnectionString).GetBlobContainerClient("photos");
        await blobs.CreateIfNotExistsAsync();
        var samples = Directory.GetFiles(ClassifyCommandTests.SamplesDirectory()).Order(StringComparer.Ordinal).ToArray();
        foreach (var file in samples)
        {
            await blobs.GetBlobClient($"2024/{Path.GetFileName(file)}").UploadAsync(file);
        }

        await blobs.GetBlobClient("2025/not-included.jpg").UploadAsync(samples[0]);

        var (exit, output, error) = await InvokeAsync("tag", "--connection", Storage.ConnectionString, "--container", "photos", "--prefix", "2024/", "--model", Storage.ModelPath);

        Assert.True(exit == 0, error);
        var job = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(samples.Length, job.GetProperty("queued").GetInt32());
        Assert.Equal(samples.Length, job.GetProperty("succeeded").GetInt32());
        Assert.Equal("completed", job.GetProperty("status").GetString());
        var tags = (await blobs.GetBlobClient($"2024/{Path.GetFileName(samples[0])}").GetTagsAsync()).Value.Tags;
        Assert.True(tags.ContainsKey("resnest-label"));
        Assert.Empty((await blobs.GetBlobClient("2025/not-included.jpg").GetTagsAsync()).Value.Tags);
        var results = new TableServiceClient(Storage.ConnectionString).GetTableClient(ResourceNames.Default.Tables.Results);
        Assert.Equal(samples.Length, results.Query<TableEntity>().Count());
    }

    /// <summary>
    /// A blob classified after its job started (by the blob trigger while <c>resnest tag</c> runs, or by a delivery of the
    /// job that died before counting it) counts as classified, as the queue function counts it
    /// (<see cref="Pipeline.Batches.BatchJobService.CountedAs"/>); one classified before the job counts as skipped.
    /// </summary>
    [Fact]
    public async Task Tag_counts_each_blob_as_the_batch_queue_function_does()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        var builder = PipelineHost.CreateBuilder(
            new PipelineSettings { StorageConnection = Storage.ConnectionString, ModelPath = Storage.ModelPath, TaggingEnabled = false },
            readEnvironment: false);
        builder.Services.AddSingleton<TimeProvider>(clock);
        using var host = builder.Build();
        await host.StartAsync();
        var images = host.Services.GetRequiredService<PipelineStorage>().Images;
        var pipeline = host.Services.GetRequiredService<ClassificationPipeline>();
        var sample = Directory.GetFiles(ClassifyCommandTests.SamplesDirectory()).Order(StringComparer.Ordinal).First();
        await images.GetBlobClient("counted/before.jpg").UploadAsync(sample);
        await images.GetBlobClient("counted/during.jpg").UploadAsync(sample);

        // 12:00 one blob is classified; 14:00 the other; the job starts (its clock) at 13:00.
        Assert.Equal(OutcomeKind.Succeeded, (await pipeline.ProcessAsync(images.GetBlobClient("counted/before.jpg"), "trigger-1", default)).Kind);
        clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(OutcomeKind.Succeeded, (await pipeline.ProcessAsync(images.GetBlobClient("counted/during.jpg"), "trigger-2", default)).Kind);
        clock.Advance(TimeSpan.FromHours(-1));

        var job = await TagCommand.TagAsync(host, "counted/", concurrency: 2, TextWriter.Null, default);

        Assert.Equal("completed", job.Status);
        Assert.Equal(2, job.Queued);
        Assert.Equal(1, job.Succeeded); // during.jpg: the job's own work, done by someone else meanwhile
        Assert.Equal(1, job.Skipped);   // before.jpg: done before the job
        Assert.Equal(0, job.Failed);
        await host.StopAsync();
    }

    [Fact]
    public async Task Demo_prints_a_succeeded_result_for_every_sample()
    {
        var (exit, output, error) = await InvokeAsync("demo", "--model", Storage.ModelPath, "--images", ClassifyCommandTests.SamplesDirectory(), "--json");

        Assert.True(exit == 0, error);
        foreach (var file in Directory.GetFiles(ClassifyCommandTests.SamplesDirectory()))
        {
            // The table is for people: with --json it goes to stderr with the other talk.
            Assert.Matches($@"samples/{System.Text.RegularExpressions.Regex.Escape(Path.GetFileName(file))}\s+succeeded", error);
        }

        // stdout is data: every line a JSON document, nothing else (`./demo.sh --json | jq .`).
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var documents = lines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.DoesNotContain("\\u0027", output, StringComparison.Ordinal);
        Assert.Equal(Directory.GetFiles(ClassifyCommandTests.SamplesDirectory()).Length, documents.Length);
        Assert.All(documents, d => Assert.Equal(5, d.GetProperty("predictions").GetArrayLength()));
    }
}
