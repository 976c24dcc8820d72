using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ResNeSt.TestSupport;

namespace ResNeSt.Pipeline.Tests;

/// <summary>
/// The pipeline's lines about one image leave its blob, ETag and invocation id to the scopes they are logged in
/// (exported as attributes, so a repeat would be a second attribute of the same name), and quote a rejection's reason
/// as the sentence it is.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class PipelineLogTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_rejected_upload_is_logged_with_its_reason_once_and_its_blob_etag_and_invocation_in_the_scopes()
    {
        var capture = new CapturingLoggerProvider();
        await using var harness = await PipelineHarness.StartAsync(
            azurite, configureServices: services => services.AddSingleton<ILoggerProvider>(capture));
        var blob = await harness.UploadAsync("logs/empty.jpg", []);
        var etag = (await blob.GetPropertiesAsync()).Value.ETag.ToString();

        await harness.Pipeline.ProcessAsync(blob, "inv-log", default);

        var rejected = Assert.Single(capture.Records, r => r.EventId == 1001);
        Assert.Equal("Rejected (empty): The blob is empty. Recorded as failed; not retried.", rejected.Message);
        Assert.Equal(["Code", "Reason"], rejected.Properties);
        Assert.Equal("logs/empty.jpg", rejected.Scopes["Blob"]);
        Assert.Equal("inv-log", rejected.Scopes["InvocationId"]);
        Assert.Equal(etag, rejected.Scopes["ETag"]);
    }
}
