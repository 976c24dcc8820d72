using System.Net;
using System.Net.Http.Headers;
using ResNeSt.Host.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary><c>POST /api/classify</c> against a full inference queue, through the real host.</summary>
public sealed class BusyTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Classify_answers_503_with_Retry_After_at_once_when_the_inference_queue_is_full()
    {
        // Room for one image in the queue; 16 requests at once.
        await using var app = await HostedApp.StartAsync(await ParityModel.BytesAsync(), new Dictionary<string, string>
        {
            ["Inference__MaxBatchSize"] = "1",
            ["Inference__QueueCapacity"] = "1",
        });
        var png = await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, "coffee.png"));
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var content = new ByteArrayContent(png);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            var started = DateTimeOffset.UtcNow;
            using var response = await app.SendAsync(HttpMethod.Post, "api/classify", content);
            var retryAfter = response.Headers.RetryAfter?.Delta;
            var code = response.StatusCode == HttpStatusCode.OK ? null : (string?)(await HostedApp.JsonAsync(response))["code"];
            return (response.StatusCode, code, retryAfter, Seconds: (DateTimeOffset.UtcNow - started).TotalSeconds);
        }));

        output.WriteLine(string.Join('\n', answers.Select(a => $"{(int)a.StatusCode} {a.code} retry-after {a.retryAfter} in {a.Seconds:0.00} s")));
        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{a.StatusCode} {a.code}"));
        var busy = answers.Where(a => a.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.NotEmpty(busy);
        Assert.All(busy, a => Assert.Equal(("busy", TimeSpan.FromSeconds(1)), (a.code, a.retryAfter)));
        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.OK);
    }
}
