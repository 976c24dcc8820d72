using System.Diagnostics;
using System.Net;
using ResNeSt.Host.Tests.Infrastructure;
using ResNeSt.Testing.Samples;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>
/// SIGKILL of the host and its worker in the middle of a batch job, then a restart: the job completes with every blob
/// classified once. Messages the dead host had taken stay invisible for the host's 10-minute queue lease (not
/// configurable: host.json's visibilityTimeout is only the retry delay), so recovery takes about that long; the
/// claim timeout (5 minutes) is below it, so the redelivery finds the dead invocation's claim already expired.
/// </summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    private const int Count = 40;

    [SkippableFact]
    public async Task A_batch_job_survives_a_SIGKILL_of_host_and_worker_with_nothing_lost_or_duplicated()
    {
        await using var app = await HostedApp.StartAsync(await ParityModel.BytesAsync());
        var variants = SampleImages.Variants(Samples.Directory, Count, seed: 11);
        foreach (var (name, content) in variants)
        {
            await app.UploadAsync("crash/" + name, content);
        }

        using var start = await app.SendAsync(HttpMethod.Post, "api/batches", new StringContent("""{"prefix":"crash/"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var id = (string)(await HostedApp.JsonAsync(start))["id"]!;

        // Kill once the job is under way (some blobs done, most not).
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(2);
        int doneBeforeKill = 0;
        while (DateTimeOffset.UtcNow < deadline)
        {
            using var progress = await app.SendAsync(HttpMethod.Get, "api/batches/" + id);
            var job = await HostedApp.JsonAsync(progress);
            doneBeforeKill = (int)job["succeeded"]! + (int)job["failed"]!;
            if (doneBeforeKill >= 3)
            {
                break;
            }

            await Task.Delay(100);
        }

        await app.Host.KillAsync();
        var restarted = Stopwatch.StartNew();
        await app.Host.RestartAsync();
        var completed = await BatchJobs.WaitForCompletionAsync(app, id, TimeSpan.FromMinutes(14));
        output.WriteLine($"killed with {doneBeforeKill}/{Count} done; job completed {restarted.Elapsed.TotalSeconds:0} s after the restart: {completed.ToJsonString()}");

        Assert.Equal((Count, Count, 0, 0), ((int)completed["queued"]!, (int)completed["succeeded"]!, (int)completed["failed"]!, (int)completed["skipped"]!));
        foreach (var (name, _) in variants)
        {
            var result = await app.ResultAsync("crash/" + name);
            Assert.Equal("succeeded", (string?)result?["status"]);
            Assert.Equal(1, await UploadTests.IndexRowsAsync(app, "crash/" + name));
        }
    }
}
