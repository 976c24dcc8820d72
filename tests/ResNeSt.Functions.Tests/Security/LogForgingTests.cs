using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ResNeSt.Functions.Triggers;
using ResNeSt.TestSupport;
using static ResNeSt.Functions.Tests.HttpFunctionCalls;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>Names that reach the logs cannot forge log lines.</summary>
[Collection(AzuriteFixture.Collection)]
public sealed class LogForgingTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Blob_names_with_line_breaks_cannot_forge_log_lines()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var capture = new CapturingLoggerProvider();
        harness.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        const string forged = "evil.png\r\n2026-01-01 00:00:00 CRITICAL forged\u2028line";

        // The blob trigger (a name that is not there: a real 404 from Azurite), a name in another container,
        // and the batch queue with a crafted message and a poisoned one.
        await Function<ClassifyUploadedImage>(harness).RunAsync(harness.Images.GetBlobClient(forged), new TestFunctionContext("inv-log", harness.Services), default);
        await harness.Pipeline.ProcessAsync(new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("models").GetBlobClient(forged), "inv-log2", default);
        var job = await harness.Batches.StartAsync("x/", default);
        var message = System.Text.Json.JsonSerializer.Serialize(
            new ResNeSt.Pipeline.Serialization.BatchMessage("classify", job.Id, "../" + forged), ResNeSt.Pipeline.Serialization.PipelineJsonContext.Default.BatchMessage);
        await Function<BatchQueueFunctions>(harness).RunAsync(message, new TestFunctionContext("inv-q", harness.Services), default);
        await Function<BatchQueueFunctions>(harness).RunPoisonAsync(message, default);

        string[] lines = [.. capture.Records.Select(r => r.Line)];

        // Our own lines (the storage SDK's request logs span several lines by design and carry names URL-encoded).
        Assert.DoesNotContain(lines, l => l.Contains("\r\n2026-01-01", StringComparison.Ordinal) || l.Contains("\n2026-01-01", StringComparison.Ordinal));
        var mentioning = lines.Where(l => l.StartsWith("ResNeSt.", StringComparison.Ordinal) && l.Contains("evil.png", StringComparison.Ordinal)).ToArray();
        // The wrong-container line and the invalid-name line of the batch message; the poisoned copy of that message is
        // dropped without repeating the name (it is not ours to count), and the trigger's 404 logs below Warning.
        Assert.True(mentioning.Length >= 2, string.Join('\n', lines));
        Assert.All(mentioning, l => Assert.DoesNotContain('\n', l));
        Assert.All(mentioning, l => Assert.DoesNotContain('\r', l));
        Assert.All(mentioning, l => Assert.DoesNotContain('\u2028', l));
        Assert.Contains(mentioning, l => l.Contains("evil.png2026-01-01 00:00:00 CRITICAL forgedline", StringComparison.Ordinal));
    }
}
