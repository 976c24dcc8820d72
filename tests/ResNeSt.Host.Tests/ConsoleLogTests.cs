using System.Net;
using ResNeSt.Host.Tests.Infrastructure;

namespace ResNeSt.Host.Tests;

/// <summary>
/// What `func start` and the container's log stream show of one upload: the worker forwards none of the app's records
/// to the host (OpenTelemetry schema 1.37), so the lines come from <c>OutOfInvocationConsoleLoggerProvider</c>, and
/// they name the blob, its invocation and its ETag from the scopes, once each.
/// </summary>
[Collection(ServingApp.Name)]
public sealed class ConsoleLogTests(ServingAppFixture fixture)
{
    [SkippableFact]
    public async Task The_console_line_of_a_classified_upload_names_its_blob_invocation_and_etag_once()
    {
        var app = fixture.App;
        var blob = await app.UploadAsync("console/camera.png", await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, "camera.png")));
        string etag = (await blob.GetPropertiesAsync()).Value.ETag.ToString();
        using (var delivered = await app.DeliverBlobCreatedAsync([blob]))
        {
            Assert.Equal(HttpStatusCode.Accepted, delivered.StatusCode);
        }

        await app.WaitForResultAsync(blob.Name, TimeSpan.FromSeconds(90));
        string[] lines = [];
        for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline && lines.Length == 0; await Task.Delay(250))
        {
            lines = [.. app.Host.LogText.Split('\n').Where(l => l.Contains("[1000] Classified as ", StringComparison.Ordinal) && l.Contains("=> Blob console/camera.png ", StringComparison.Ordinal))];
        }

        string line = Assert.Single(lines);
        Assert.Matches(@"^\s*info: ResNeSt\.Pipeline\.Processing\.VersionClassifier\[1000\] Classified as .+ => Blob console/camera\.png \(invocation [0-9a-f-]{36}\) => ETag ", line);
        Assert.EndsWith("=> ETag " + etag, line.TrimEnd(), StringComparison.Ordinal);
        Assert.Equal(1, LogSearch.Occurrences(line, "console/camera.png"));
    }
}
