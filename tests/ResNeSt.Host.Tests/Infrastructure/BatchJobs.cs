using System.Text.Json.Nodes;

namespace ResNeSt.Host.Tests.Infrastructure;

internal static class BatchJobs
{
    /// <summary>Polls <c>GET /api/batches/{id}</c> until the job says completed.</summary>
    public static async Task<JsonObject> WaitForCompletionAsync(HostedApp app, string id, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        JsonObject? job = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            using var response = await app.SendAsync(HttpMethod.Get, "api/batches/" + id);
            response.EnsureSuccessStatusCode();
            job = await HostedApp.JsonAsync(response);
            if ((string?)job["status"] == "completed")
            {
                return job;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"Batch job {id} did not complete within {timeout}: {job?.ToJsonString()}\n{string.Join('\n', app.Host.Log.TakeLast(60).Select(l => l.Text))}");
    }
}
