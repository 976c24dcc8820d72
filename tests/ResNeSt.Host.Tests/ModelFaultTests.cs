using System.Net;
using ResNeSt.Host.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>
/// A missing or broken model in the host: health says so, the start-up log says so, and uploads made meanwhile are
/// not lost: the host gives up on them after its retries, the app records them as failed with the reason and
/// classifies them once the model is in place.
/// </summary>
public sealed class ModelFaultTests(ITestOutputHelper output)
{
    // Shorter than the defaults (30 s, 15 s) so the test waits seconds, not minutes; the mechanism is the same.
    private static readonly Dictionary<string, string> s_fast = new()
    {
        ["Pipeline__RedriveDelay"] = "00:00:03",
        ["Model__ReloadInterval"] = "00:00:03",
    };

    [SkippableFact]
    public async Task Uploads_made_while_the_model_is_missing_are_recorded_as_failed_and_classified_once_it_is_uploaded()
    {
        await using var app = await HostedApp.StartAsync(model: null, s_fast);
        using (var health = await app.Http.GetAsync("api/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal("model_not_found", (string?)(await HostedApp.JsonAsync(health))["error"]);
        }

        // The broken model is visible in the host's console at start-up (func start shows the same).
        Assert.Contains(app.Host.Log, l => l.Text.Contains("Model load failed", StringComparison.Ordinal));

        var names = new[] { "while-down/camera.png", "while-down/coffee.png" };
        var blobs = new List<Azure.Storage.Blobs.BlobClient>();
        foreach (var name in names)
        {
            blobs.Add(await app.UploadAsync(name, await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, Path.GetFileName(name)))));
        }

        using (var delivered = await app.DeliverBlobCreatedAsync(blobs))
        {
            Assert.Equal(HttpStatusCode.Accepted, delivered.StatusCode);
        }

        // The host retries each five times, then hands it to webjobs-blobtrigger-poison; the app records why.
        foreach (var name in names)
        {
            var failed = await app.WaitForResultAsync(name, TimeSpan.FromMinutes(4));
            output.WriteLine($"{name}: {failed.ToJsonString()}");
            Assert.Equal(("failed", "model_unavailable"), ((string?)failed["status"], (string?)failed["error"]!["code"]));
        }

        // The model arrives; the re-drive classifies both without another upload or event.
        await app.ModelBlob.UploadAsync(new BinaryData(await ParityModel.BytesAsync()), overwrite: true);
        foreach (var name in names)
        {
            var result = await app.WaitForResultAsync(name, TimeSpan.FromMinutes(2), r => (string?)r["status"] == "succeeded");
            Assert.Equal(Samples.PyTorchTop5[Path.GetFileName(name)], result["predictions"]!.AsArray().Select(p => (int)p!["index"]!));
        }

        using (var health = await app.Http.GetAsync("api/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        Assert.Empty(await UploadTests.PoisonedAsync(app));
    }

    [SkippableFact]
    public async Task A_broken_model_answers_503_with_its_code_and_says_so_in_the_log()
    {
        await using var app = await HostedApp.StartAsync("this is not an ONNX model"u8.ToArray());
        using var health = await app.Http.GetAsync("api/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("model_invalid", (string?)(await HostedApp.JsonAsync(health))["error"]);
        Assert.Contains(app.Host.Log, l => l.Text.Contains("Model load failed", StringComparison.Ordinal));
    }
}
