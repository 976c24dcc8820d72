using System.Net;
using System.Text.Json.Nodes;
using ResNeSt.Host.Tests.Infrastructure;

namespace ResNeSt.Host.Tests;

/// <summary>What the host's keys guard, as a client meets it.</summary>
[Collection(ServingApp.Name)]
public sealed class KeyTests(ServingAppFixture fixture)
{
    [SkippableFact]
    public async Task Health_is_anonymous_and_ready()
    {
        var app = fixture.App;
        using var response = await app.Http.GetAsync("api/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var health = await HostedApp.JsonAsync(response);
        Assert.True((bool)health["ready"]!);
    }

    [SkippableTheory]
    [InlineData("GET", "api/results/anything.jpg")]
    [InlineData("GET", "api/results?label=tabby")]
    [InlineData("POST", "api/classify")]
    [InlineData("POST", "api/batches")]
    [InlineData("GET", "api/batches/00000000000000000000000000000000")]
    public async Task Every_other_function_answers_401_without_a_key_and_works_with_the_function_key(string method, string path)
    {
        var app = fixture.App;
        Skip.If(Path.GetFileName(FunctionsHost.Launcher.Launcher) == "func", "Core Tools does not enforce function keys locally.");
        using var anonymous = await app.Http.SendAsync(HostedApp.Request(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var wrong = await app.Http.SendAsync(HostedApp.Request(new HttpMethod(method), path, "not-a-key"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var keyed = await app.SendAsync(new HttpMethod(method), path, method == "POST" ? new StringContent("{}") : null);
        Assert.NotEqual(HttpStatusCode.Unauthorized, keyed.StatusCode);
        Assert.NotEqual(HttpStatusCode.Forbidden, keyed.StatusCode);
    }

    [SkippableFact]
    public async Task The_Event_Grid_webhook_needs_the_blobs_extension_key_and_answers_the_validation_handshake()
    {
        var app = fixture.App;
        var blob = await app.UploadAsync("keys/webhook.png", await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, "camera.png")));
        using (var anonymous = await app.Http.PostAsync(HostedApp.WebhookPath(null), new StringContent("[]")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        // The function key is not the system key: the host refuses it (403, a known key of too low a level), so an
        // Event Grid subscription made with it would be refused on every delivery.
        using (var functionKey = await app.DeliverBlobCreatedAsync([blob], app.Host.Keys.Function))
        {
            Assert.Equal(HttpStatusCode.Forbidden, functionKey.StatusCode);
        }

        using (var wrongKey = await app.DeliverBlobCreatedAsync([blob], "not-a-key"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        }

        // The subscription-validation handshake Event Grid performs when the subscription is created.
        var validation = new JsonArray(new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["topic"] = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/account",
            ["subject"] = "",
            ["eventType"] = "Microsoft.EventGrid.SubscriptionValidationEvent",
            ["eventTime"] = DateTimeOffset.UtcNow.ToString("O"),
            ["data"] = new JsonObject { ["validationCode"] = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" },
            ["dataVersion"] = "1",
            ["metadataVersion"] = "1",
        });
        using var handshake = new HttpRequestMessage(HttpMethod.Post, HostedApp.WebhookPath(app.Host.Keys.BlobsExtension))
        {
            Content = new StringContent(validation.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        handshake.Headers.Add("aeg-event-type", "SubscriptionValidation");
        using var answer = await app.Http.SendAsync(handshake);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains("512d38b6-c7b8-40c8-89fe-f46f9e9622b6", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var delivered = await app.DeliverBlobCreatedAsync([blob]);
        Assert.Equal(HttpStatusCode.Accepted, delivered.StatusCode);
        Assert.Equal("succeeded", (string?)(await app.WaitForResultAsync("keys/webhook.png", TimeSpan.FromSeconds(60)))["status"]);
    }

    [SkippableFact]
    public async Task No_key_reaches_the_hosts_log()
    {
        var app = fixture.App;
        // Calls that carry each key, in the header and in the query string, then the whole log so far is searched.
        using (await app.Http.GetAsync("api/results/k.jpg?code=" + Uri.EscapeDataString(app.Host.Keys.Function)))
        using (await app.SendAsync(HttpMethod.Get, "api/results/k2.jpg"))
        using (await app.Http.PostAsync(HostedApp.WebhookPath(app.Host.Keys.BlobsExtension), new StringContent("[]")))
        {
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        var log = app.Host.LogText;
        foreach (var key in app.Host.Keys.All)
        {
            Assert.DoesNotContain(key, log, StringComparison.Ordinal);
            Assert.DoesNotContain(Uri.EscapeDataString(key), log, StringComparison.Ordinal);
        }
    }
}
