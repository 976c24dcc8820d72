using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Testing.Storage;

namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>
/// One Functions app in the real host against its own Azurite, started with the app settings of the compiled
/// template (cpu-flex: this machine has no GPU) and the test model in the models container. The tests use it as a
/// client would: blobs and queues through the storage SDK, everything else through HTTP with the host's keys.
/// </summary>
internal sealed class HostedApp : IAsyncDisposable
{
    public const string Hosting = "cpu-flex";

    private HostedApp(Azurite azurite, FunctionsHost host, IReadOnlyDictionary<string, string> settings)
    {
        Azurite = azurite;
        Host = host;
        Settings = settings;
        Http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(100) };
        Blobs = new BlobServiceClient(azurite.ConnectionString);
        Queues = new QueueServiceClient(azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        Tables = new TableServiceClient(azurite.ConnectionString);
    }

    public Azurite Azurite { get; }

    public FunctionsHost Host { get; }

    /// <summary>The environment the host was started with.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; }

    public HttpClient Http { get; }

    public BlobServiceClient Blobs { get; }

    public QueueServiceClient Queues { get; }

    public TableServiceClient Tables { get; }

    public BlobContainerClient Images => Blobs.GetBlobContainerClient(Settings[ResourceNames.Default.Settings.ImagesContainer]);

    public BlobContainerClient Models => Blobs.GetBlobContainerClient(ResourceNames.Default.Containers.Models);

    public BlobClient ModelBlob => Models.GetBlobClient(Settings[ResourceNames.Default.Settings.ModelBlobName]);

    /// <param name="model">The model blob's content; null leaves the models container empty (a missing model).</param>
    /// <param name="overrides">Settings the test changes on top of the template's (named in each test, with why).</param>
    public static async Task<HostedApp> StartAsync(byte[]? model, IReadOnlyDictionary<string, string>? overrides = null)
    {
        Skip.If(FunctionsHost.Launcher.Launcher is null, FunctionsHost.Launcher.Description);
        var template = await TemplateSettings.ForHostingAsync(Hosting);
        var app = await PublishedApp.DirectoryAsync();
        var azurite = await Azurite.StartAsync();
        try
        {
            var settings = TemplateSettings.ForAzurite(template, azurite.ConnectionString);
            foreach (var (name, value) in overrides ?? new Dictionary<string, string>())
            {
                settings[name] = value;
            }

            // Each app its own model cache, so no run reuses another's download.
            settings["Model__CacheDirectory"] = Directory.CreateTempSubdirectory("resnest-host-models-").FullName;
            if (model is not null)
            {
                var blobs = new BlobServiceClient(azurite.ConnectionString);
                var container = blobs.GetBlobContainerClient(ResourceNames.Default.Containers.Models);
                await container.CreateIfNotExistsAsync();
                await container.GetBlobClient(settings[ResourceNames.Default.Settings.ModelBlobName]).UploadAsync(new BinaryData(model), overwrite: true);
            }

            var host = await FunctionsHost.StartAsync(app, settings);
            return new HostedApp(azurite, host, settings);
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? key = null, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Add("x-functions-key", key);
        }

        return request;
    }

    /// <summary>A function-key call.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null) =>
        Http.SendAsync(Request(method, path, Host.Keys.Function, content));

    public async Task<BlobClient> UploadAsync(string name, byte[] content)
    {
        await Images.CreateIfNotExistsAsync();
        var blob = Images.GetBlobClient(name);
        await blob.UploadAsync(new BinaryData(content), overwrite: true);
        return blob;
    }

    /// <summary>
    /// Delivers <c>Microsoft.Storage.BlobCreated</c> events for <paramref name="blobs"/> the way an Event Grid
    /// subscription with the webhook endpoint does: one POST, an array in the Event Grid schema, the
    /// <c>aeg-event-type: Notification</c> header, the <c>blobs_extension</c> key in the URL.
    /// </summary>
    public async Task<HttpResponseMessage> DeliverBlobCreatedAsync(IEnumerable<BlobClient> blobs, string? key = null)
    {
        var events = new JsonArray();
        foreach (var blob in blobs)
        {
            BlobProperties? properties = null;
            try
            {
                properties = (await blob.GetPropertiesAsync()).Value;
            }
            catch (Azure.RequestFailedException ex) when (ex.Status == 404)
            {
                // An event for a blob deleted since: delivered all the same.
            }

            events.Add(new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString(),
                ["topic"] = $"/subscriptions/00000000-0000-0000-0000-0000000000a1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/{Azurite.AccountName}",
                ["subject"] = $"/blobServices/default/containers/{blob.BlobContainerName}/blobs/{blob.Name}",
                ["eventType"] = "Microsoft.Storage.BlobCreated",
                ["eventTime"] = DateTimeOffset.UtcNow.ToString("O"),
                ["dataVersion"] = "",
                ["metadataVersion"] = "1",
                ["data"] = new JsonObject
                {
                    ["api"] = "PutBlob",
                    ["contentType"] = properties?.ContentType ?? "application/octet-stream",
                    ["contentLength"] = properties?.ContentLength ?? 0,
                    ["blobType"] = "BlockBlob",
                    ["eTag"] = properties?.ETag.ToString() ?? "0x0",
                    // Escaped, as Event Grid sends it (Uri.ToString() would unescape parts of a name such as %5C).
                    ["url"] = blob.Uri.AbsoluteUri,
                    ["sequencer"] = "0000000000000000000000000000000000000000000000000",
                },
            });
        }

        var request = new HttpRequestMessage(HttpMethod.Post, WebhookPath(key ?? Host.Keys.BlobsExtension))
        {
            Content = new StringContent(events.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("aeg-event-type", "Notification");
        return await Http.SendAsync(request);
    }

    /// <summary>The webhook URL an Event Grid subscription is created with (docs: the blob trigger with Event Grid source).</summary>
    public static string WebhookPath(string? key) =>
        "runtime/webhooks/blobs?functionName=Host.Functions.ClassifyUploadedImage" + (key is null ? "" : "&code=" + Uri.EscapeDataString(key));

    /// <summary>
    /// GET /api/results/{name} (or, <paramref name="byQuery"/>, GET /api/results?blob=name): the stored result's JSON,
    /// or null while it answers 404.
    /// </summary>
    public async Task<JsonObject?> ResultAsync(string name, bool byQuery = false)
    {
        using var response = await SendAsync(HttpMethod.Get, byQuery ? "api/results?blob=" + Uri.EscapeDataString(name) : "api/results/" + EscapePath(name));
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>Polls until the result of <paramref name="name"/> satisfies <paramref name="done"/> (default: a final status).</summary>
    public async Task<JsonObject> WaitForResultAsync(string name, TimeSpan timeout, Func<JsonObject, bool>? done = null, bool byQuery = false)
    {
        done ??= r => (string?)r["status"] is "succeeded" or "failed";
        var deadline = DateTimeOffset.UtcNow + timeout;
        JsonObject? last = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            last = await ResultAsync(name, byQuery);
            if (last is not null && done(last))
            {
                return last;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"No final result for '{name}' within {timeout} (last: {last?.ToJsonString() ?? "404"}).\nHost log tail:\n{string.Join('\n', Host.Log.TakeLast(60).Select(l => l.Text))}");
    }

    /// <summary>
    /// Polls until the blob carries the pipeline's tags. The result row is written first and the tags after it (a
    /// redelivery repairs tags, never the other way round), so a succeeded result may be read a moment before its tags.
    /// </summary>
    public async Task<IDictionary<string, string>> WaitForTagsAsync(string name, TimeSpan timeout)
    {
        var blob = Images.GetBlobClient(name);
        var deadline = DateTimeOffset.UtcNow + timeout;
        IDictionary<string, string> tags;
        do
        {
            tags = (await blob.GetTagsAsync()).Value.Tags;
            if (tags.ContainsKey("resnest-class"))
            {
                return tags;
            }

            await Task.Delay(100);
        }
        while (DateTimeOffset.UtcNow < deadline);

        throw new TimeoutException($"No resnest-class tag on '{name}' within {timeout} (tags: {string.Join(", ", tags.Keys)}).");
    }

    /// <summary>Path segments escaped one by one, slashes kept: how a client puts a blob name in the route.</summary>
    public static string EscapePath(string name) => string.Join('/', name.Split('/').Select(Uri.EscapeDataString));

    public static async Task<JsonObject> JsonAsync(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text)?.AsObject() ?? throw new JsonException($"Not a JSON object: {text}");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
        await Azurite.DisposeAsync();
        if (Settings.TryGetValue("Model__CacheDirectory", out var cache) && Directory.Exists(cache))
        {
            Directory.Delete(cache, recursive: true);
        }
    }
}
