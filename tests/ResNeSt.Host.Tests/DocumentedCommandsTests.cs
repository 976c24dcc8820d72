using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ResNeSt.Host.Tests.Infrastructure;

namespace ResNeSt.Host.Tests;

/// <summary>
/// The commands the docs give for talking to a running app, run as written (only the addresses changed to this
/// run's): the hand-posted BlobCreated event and the results call of docs/pipeline.md; and the tag key the deploy
/// walkthrough's tag filter names.
/// </summary>
[Collection(ServingApp.Name)]
public sealed partial class DocumentedCommandsTests(ServingAppFixture fixture)
{
    private static string Doc(string name) => File.ReadAllText(Path.Combine(Repository.Root, "docs", name));

    [SkippableFact]
    public async Task The_documented_webhook_curl_and_results_curl_work_against_the_host()
    {
        var app = fixture.App;
        var doc = Doc("pipeline.md");
        var post = WebhookCurl().Match(doc);
        var get = ResultsCurl().Match(doc);
        Assert.True(post.Success && get.Success, "docs/pipeline.md no longer holds the webhook and results curl commands");

        // The doc uploads with `az storage blob upload ... -n dog.jpg`; az is not here, the SDK does the same.
        await app.UploadAsync("dog.jpg", await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, "dog.jpg")));
        string Local(string command) => command
            .Replace("http://localhost:7071", app.Host.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal)
            .Replace("http://127.0.0.1:10000/devstoreaccount1", $"http://127.0.0.1:{app.Azurite.BlobPort}/devstoreaccount1", StringComparison.Ordinal);
        var environment = new Dictionary<string, string?>
        {
            ["BLOBS_EXTENSION_KEY"] = app.Host.Keys.BlobsExtension,
            ["FUNCTION_KEY"] = app.Host.Keys.Function,
        };
        var posted = await ProcessRun.RunAsync("bash", ["-c", Local(post.Value) + " -s -o /dev/null -w '%{http_code}'"], Repository.Root, TimeSpan.FromSeconds(30), environment);
        Assert.Equal("202", posted.Output.Trim());

        await app.WaitForResultAsync("dog.jpg", TimeSpan.FromSeconds(90));
        var answered = await ProcessRun.RunAsync("bash", ["-c", Local(get.Value) + " -s"], Repository.Root, TimeSpan.FromSeconds(30), environment);
        var result = JsonNode.Parse(answered.Output)!;
        Assert.Equal(("dog.jpg", "succeeded"), ((string?)result["name"], (string?)result["status"]));
    }

    [SkippableFact]
    public async Task The_documented_tag_filter_names_the_tag_the_app_writes()
    {
        var app = fixture.App;
        var filter = TagFilter().Match(Doc("deploy-walkthrough.md"));
        Assert.True(filter.Success, "docs/deploy-walkthrough.md no longer holds the tag filter");
        var blob = await app.UploadAsync("tagged/rocket.jpg", await File.ReadAllBytesAsync(Path.Combine(Samples.Directory, "rocket.jpg")));
        using (await app.DeliverBlobCreatedAsync([blob]))
        {
        }

        var result = await app.WaitForResultAsync(blob.Name, TimeSpan.FromSeconds(90));
        // The key the doc filters on is the key the app writes, with the top-1 label as its value. (Azurite's tag-query
        // parser refuses keys with '-' even quoted, which Azure accepts, so the filter itself is not run here.)
        var tags = await app.WaitForTagsAsync(blob.Name, TimeSpan.FromSeconds(90));
        Assert.True(tags.TryGetValue(filter.Groups["key"].Value, out var value), $"the blob has no '{filter.Groups["key"].Value}' tag");
        Assert.Equal(ResNeSt.Pipeline.Tagging.BlobTagger.SanitizeValue((string)result["top1"]!["label"]!), value);
    }

    // curl -X POST "…/runtime/webhooks/blobs?…&code=$BLOBS_EXTENSION_KEY" \ … }]'
    [GeneratedRegex(@"curl -X POST ""http://localhost:7071/runtime/webhooks/blobs[^\n]*\\\n(?:.*\n)*?.*\}\]'")]
    private static partial Regex WebhookCurl();

    [GeneratedRegex(@"curl -H ""x-functions-key: \$FUNCTION_KEY"" 'http://localhost:7071/api/results/dog\.jpg'")]
    private static partial Regex ResultsCurl();

    [GeneratedRegex(@"--tag-filter ""\\""(?<key>[a-z-]+)\\""='[^']*'""")]
    private static partial Regex TagFilter();
}
