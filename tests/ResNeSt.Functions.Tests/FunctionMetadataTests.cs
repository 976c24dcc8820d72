using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using ResNeSt.Functions.Api;
using ResNeSt.Functions.Triggers;
using ResNeSt.Pipeline.Configuration;

namespace ResNeSt.Functions.Tests;

/// <summary>
/// The Functions host never sees our attributes, only the build output: these tests read <c>functions.metadata</c>
/// and <c>extensions.json</c> and check every trigger and binding the host will register.
/// </summary>
public sealed class FunctionMetadataTests
{
    private static readonly string s_output = typeof(FunctionMetadataTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "FunctionsOutputDirectory").Value!;

    private static readonly Lazy<Dictionary<string, JsonElement>> s_functions = new(() =>
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_output, "functions.metadata")));
        return document.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.Clone());
    });

    private static JsonElement Binding(string function)
    {
        var bindings = s_functions.Value[function].GetProperty("bindings").EnumerateArray()
            .Where(b => b.GetProperty("direction").GetString() == "In").ToArray();
        return Assert.Single(bindings);
    }

    [Fact]
    public void Exactly_the_expected_functions_are_registered() =>
        Assert.Equal(
            new[] { BatchQueueFunctions.ClassifyName, BatchQueueFunctions.PoisonName, ClassifyUploadedImage.Name, RecordUndeliveredUpload.Name, ResultsApi.GetName, ResultsApi.ListName,
                ClassifyApi.Name, BatchesApi.StartName, BatchesApi.GetName, HealthApi.Name,
                UploadsApi.Name, ThumbnailsApi.Name, TagsApi.Name, UiApi.Name }.Order(),
            s_functions.Value.Keys.Order());

    [Fact]
    public void Blob_trigger_is_an_Event_Grid_trigger_on_the_configured_images_container()
    {
        var binding = Binding(ClassifyUploadedImage.Name);
        Assert.Equal("blobTrigger", binding.GetProperty("type").GetString());
        Assert.Equal($"%{HostKey(ResourceNames.Default.Settings.ImagesContainer)}%/{{name}}", binding.GetProperty("path").GetString());
        Assert.Equal("EventGrid", binding.GetProperty("source").GetString());
        Assert.Equal(ResourceNames.Default.ConnectionName, binding.GetProperty("connection").GetString());
        // Bound as a BlobClient (deferred binding), not a stream: nothing is read before the checks.
        Assert.Equal("True", binding.GetProperty("properties").GetProperty("supportsDeferredBinding").GetString());
    }

    [Fact]
    public void Queue_triggers_listen_on_the_classify_queue_and_its_poison_queue()
    {
        var queue = Binding(BatchQueueFunctions.ClassifyName);
        Assert.Equal("queueTrigger", queue.GetProperty("type").GetString());
        Assert.Equal($"%{HostKey(ResourceNames.Default.Settings.ClassifyQueue)}%", queue.GetProperty("queueName").GetString());
        Assert.Equal(ResourceNames.Default.ConnectionName, queue.GetProperty("connection").GetString());
        var poison = Binding(BatchQueueFunctions.PoisonName);
        Assert.Equal($"%{HostKey(ResourceNames.Default.Settings.ClassifyQueue)}%-poison", poison.GetProperty("queueName").GetString());
        // The blob trigger's poison queue has a fixed name in the trigger connection's account.
        var undelivered = Binding(RecordUndeliveredUpload.Name);
        Assert.Equal("webjobs-blobtrigger-poison", undelivered.GetProperty("queueName").GetString());
        Assert.Equal(ResourceNames.Default.ConnectionName, undelivered.GetProperty("connection").GetString());
    }

    // The host's configuration key of an app setting: environment variables name `A:B` as `A__B`.
    private static string HostKey(string appSetting) => appSetting.Replace("__", ":", StringComparison.Ordinal);

    /// <summary>
    /// The host resolves <c>%name%</c> in its configuration, which reads app settings from environment variables
    /// (<c>__</c> becomes <c>:</c>). An expression that does not resolve disables its function at start-up, so every
    /// expression in the metadata must resolve from the app settings of names.json, read the way the host reads them.
    /// </summary>
    [Fact]
    public void Every_binding_expression_resolves_from_the_app_settings_as_environment_variables()
    {
        var prefix = $"RESNEST_METADATA_TEST_{Guid.NewGuid():N}_";
        var settings = ResourceNames.Default.Settings;
        var values = new Dictionary<string, string>
        {
            [settings.ImagesContainer] = ResourceNames.Default.Containers.Images,
            [settings.ClassifyQueue] = ResourceNames.Default.Queues.Classify,
        };
        try
        {
            foreach (var (name, value) in values)
            {
                Environment.SetEnvironmentVariable(prefix + name, value);
            }

            var configuration = new ConfigurationBuilder().AddEnvironmentVariables(prefix).Build();
            var expressions = s_functions.Value.Values
                .SelectMany(f => f.GetProperty("bindings").EnumerateArray())
                .SelectMany(b => b.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).Select(p => p.Value.GetString()!))
                .SelectMany(text => System.Text.RegularExpressions.Regex.Matches(text, "%([^%]+)%").Select(m => m.Groups[1].Value))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            Assert.NotEmpty(expressions);
            Assert.All(expressions, key => Assert.False(string.IsNullOrEmpty(configuration[key]), $"%{key}% does not resolve"));
        }
        finally
        {
            foreach (var name in values.Keys)
            {
                Environment.SetEnvironmentVariable(prefix + name, null);
            }
        }
    }

    [Theory]
    [InlineData(ResultsApi.GetName, "get", "results/{*blob}", "Function")]
    [InlineData(ResultsApi.ListName, "get", "results", "Function")]
    [InlineData(ClassifyApi.Name, "post", "classify", "Function")]
    [InlineData(BatchesApi.StartName, "post", "batches", "Function")]
    [InlineData(BatchesApi.GetName, "get", "batches/{id}", "Function")]
    [InlineData(HealthApi.Name, "get", "health", "Anonymous")]
    public void Http_routes_methods_and_auth_levels(string function, string method, string route, string authLevel)
    {
        var binding = Binding(function);
        Assert.Equal("httpTrigger", binding.GetProperty("type").GetString());
        Assert.Equal([method], binding.GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(route, binding.GetProperty("route").GetString());
        Assert.Equal(authLevel, binding.GetProperty("authLevel").GetString());
    }

    [Fact]
    public void Every_http_function_but_health_and_the_page_requires_a_function_key()
    {
        // Read from the generated metadata, so a new function added without thought is caught here too.
        var http = s_functions.Value
            .Select(f => (Name: f.Key, Binding: f.Value.GetProperty("bindings").EnumerateArray()
                .SingleOrDefault(b => b.GetProperty("type").GetString() == "httpTrigger")))
            .Where(f => f.Binding.ValueKind == JsonValueKind.Object)
            .ToArray();
        Assert.True(http.Length >= 6);
        // The page (/api/ui/) holds no data: every data call it makes carries the key.
        Assert.All(http, f => Assert.Equal(f.Name is HealthApi.Name or UiApi.Name ? "Anonymous" : "Function", f.Binding.GetProperty("authLevel").GetString()));
    }

    [Fact]
    public void Host_emits_OpenTelemetry_so_the_workers_spans_and_the_hosts_share_one_trace()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_output, "host.json")));
        Assert.Equal("OpenTelemetry", document.RootElement.GetProperty("telemetryMode").GetString());
    }

    [Fact]
    public void Host_loads_the_blob_and_queue_extensions()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_output, "extensions.json")));
        var names = document.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToArray();
        Assert.Contains("AzureStorageBlobs", names);
        Assert.Contains("AzureStorageQueues", names);
    }

    [Fact]
    public void Host_json_in_the_output_tunes_triggers_for_batching()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(s_output, "host.json")));
        var root = document.RootElement;
        Assert.Equal("2.0", root.GetProperty("version").GetString());
        var extensions = root.GetProperty("extensions");
        Assert.True(extensions.GetProperty("blobs").GetProperty("maxDegreeOfParallelism").GetInt32() >= 8);
        var queues = extensions.GetProperty("queues");
        Assert.Equal("base64", queues.GetProperty("messageEncoding").GetString()); // what the batch service sends
        Assert.InRange(queues.GetProperty("maxDequeueCount").GetInt32(), 2, 10);
        Assert.True(TimeSpan.Parse(root.GetProperty("functionTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > TimeSpan.Zero);
    }
}
