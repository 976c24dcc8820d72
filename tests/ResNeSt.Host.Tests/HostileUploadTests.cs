using System.Net;
using ResNeSt.Host.Tests.Infrastructure;
using ResNeSt.Inference.Imaging;
using ResNeSt.Testing.Hostile;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>Hostile uploads through the host: each ends as a recorded failure with its reason, and none is retried.</summary>
[Collection(ServingApp.Name)]
public sealed class HostileUploadTests(ServingAppFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Hostile_uploads_end_as_recorded_failures_and_are_never_retried()
    {
        var app = fixture.App;
        // Three files of each class that must be rejected (the corpus says which must), bombs and huge headers included.
        var corpus = HostileCorpus.Generate(Samples.Directory)
            .Where(f => !f.Expected.MayClassify)
            .GroupBy(f => f.Class)
            .SelectMany(g => g.Take(3))
            .ToList();
        var blobs = new List<(HostileFile File, Azure.Storage.Blobs.BlobClient Blob)>();
        foreach (var file in corpus)
        {
            blobs.Add((file, await app.UploadAsync("hostile/" + file.Name, file.Content)));
        }

        using (var delivered = await app.DeliverBlobCreatedAsync(blobs.Select(b => b.Blob)))
        {
            Assert.Equal(HttpStatusCode.Accepted, delivered.StatusCode);
        }

        foreach (var (file, blob) in blobs)
        {
            var result = await app.WaitForResultAsync(blob.Name, TimeSpan.FromSeconds(90));
            output.WriteLine($"{file.Class} {file.Name}: {result["status"]} {result["error"]?["code"]}");
            Assert.Equal("failed", (string?)result["status"]);
            var code = (string?)result["error"]?["code"];
            Assert.Contains(code, file.Expected.Reasons.Select(ImageRejectedException.ReasonCode));
        }

        // Failed as an outcome, not as an invocation: the host retried none of them and gave up on none.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var log = app.Host.LogText;
        Assert.DoesNotContain("Executed 'Functions.ClassifyUploadedImage' (Failed", log, StringComparison.Ordinal);
        Assert.DoesNotContain(await UploadTests.PoisonedAsync(app), n => n.StartsWith("hostile/", StringComparison.Ordinal));
    }
}
