using System.Net;
using System.Net.Http.Headers;
using ResNeSt.Host.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>The HTTP API in the host: classify a body, results by label with paging, a batch job through the real queue trigger.</summary>
[Collection(ServingApp.Name)]
public sealed class ApiTests(ServingAppFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Classify_answers_with_PyTorchs_top5_and_stores_nothing()
    {
        var app = fixture.App;
        using var content = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, "coffee.png")));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var response = await app.SendAsync(HttpMethod.Post, "api/classify", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await HostedApp.JsonAsync(response);
        Assert.Equal(Samples.PyTorchTop5["coffee.png"], json["predictions"]!.AsArray().Select(p => (int)p!["index"]!));
    }

    [SkippableFact]
    public async Task Results_by_label_page_through_every_match()
    {
        var app = fixture.App;
        var bytes = await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, "rocket.jpg"));
        var names = Enumerable.Range(0, 5).Select(i => $"paging/rocket-{i}.jpg").ToList();
        var blobs = new List<Azure.Storage.Blobs.BlobClient>();
        foreach (var name in names)
        {
            blobs.Add(await app.UploadAsync(name, bytes));
        }

        using (var delivered = await app.DeliverBlobCreatedAsync(blobs))
        {
            Assert.Equal(HttpStatusCode.Accepted, delivered.StatusCode);
        }

        var results = await Task.WhenAll(names.Select(n => app.WaitForResultAsync(n, TimeSpan.FromSeconds(90))));
        var label = (string)results[0]["top1"]!["label"]!;
        var found = await UploadTests.ByLabelAsync(app, label, top: 2);
        Assert.All(names, n => Assert.Contains(n, found));
        Assert.Equal(found.Count, found.Distinct().Count());
    }

    [SkippableFact]
    public async Task A_batch_job_runs_through_the_queue_trigger_to_completion_and_tags_every_blob()
    {
        var app = fixture.App;
        var files = Samples.All.Take(8).ToList();
        foreach (var file in files)
        {
            await app.UploadAsync("batch/" + Path.GetFileName(file), await File.ReadAllBytesAsync(file));
        }

        await app.UploadAsync("batch/not-an-image.txt", "hello"u8.ToArray());
        using var start = await app.SendAsync(HttpMethod.Post, "api/batches", new StringContent("""{"prefix":"batch/"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var id = (string)(await HostedApp.JsonAsync(start))["id"]!;
        var job = await BatchJobs.WaitForCompletionAsync(app, id, TimeSpan.FromMinutes(3));
        output.WriteLine(job.ToJsonString());
        Assert.Equal((files.Count + 1, files.Count, 1), ((int)job["queued"]!, (int)job["succeeded"]!, (int)job["failed"]!));
        foreach (var file in files)
        {
            var tags = (await app.Images.GetBlobClient("batch/" + Path.GetFileName(file)).GetTagsAsync()).Value.Tags;
            Assert.True(tags.ContainsKey("resnest-label"), file);
        }

        var failed = await app.ResultAsync("batch/not-an-image.txt");
        Assert.Equal(("failed", "unsupported_format"), ((string?)failed!["status"], (string?)failed["error"]!["code"]));
    }
}
