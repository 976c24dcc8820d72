using ResNeSt.Functions.Api;
using ResNeSt.Pipeline.Blobs;
using ResNeSt.TestSupport;
using static ResNeSt.Functions.Tests.HttpFunctionCalls;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>
/// Blob names at the HTTP routes: traversals and URLs refused where a name becomes a storage URL, every stored name
/// found, the name given once.
/// </summary>
[Collection(AzuriteFixture.Collection)]
public sealed class BlobNameTests(AzuriteFixture azurite)
{
    public static TheoryData<string> TraversalNames() =>
    [
        "../models/resnest50.onnx",
        "a/../../b.jpg",
        "./a.jpg",
        "a/./b.jpg",
        "..",
        "%2e%2e/models/resnest50.onnx",
        "%2E%2E%2Fmodels",
        "a/%2e%2e/%2e%2e/b",
        "%252e%252e/b",
        "a\\..\\b.jpg",
        "a\\b.jpg",
        "%5c..%5cb",
        "/models/resnest50.onnx",
        "%2fmodels",
        "https://evil.example/x.jpg",
        "http:x",
        "file:///etc/passwd",
        "ftp://host/x",
        "data:image/png;base64,AAAA",
        "C:\\windows\\win.ini",
        "a://b",
        "a\nb.jpg",
        "a%0d%0aInjected: yes",
        "a\u0000b",
        "a\u2028b",
    ];

    [Theory]
    [MemberData(nameof(TraversalNames))]
    public void Traversal_urls_and_control_characters_are_not_blob_names_or_prefixes(string value)
    {
        Assert.NotNull(BlobNameRules.Check(value));
        Assert.NotNull(BlobNameRules.Check(value, isPrefix: true));
    }

    [Fact]
    public async Task Results_look_up_any_name_while_tags_thumbnails_and_batches_refuse_what_would_leave_the_container()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        // What a traversal from the images container would reach.
        var models = new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("models");
        await models.CreateIfNotExistsAsync();
        await models.GetBlobClient("resnest50.onnx").UploadAsync(new BinaryData(TestImages.Sample("camera.png")), overwrite: true);

        foreach (string name in TraversalNames())
        {
            // A results lookup is a table key: no name leaves the table, so every one is simply not found.
            var get = await (await Function<ResultsApi>(harness).GetAsync(HttpTest.Get(), name, default)).ExecuteAsync();
            Assert.Equal((404, "not_found"), (get.Status, get.Root.GetProperty("code").GetString()));
            var byQuery = await (await Function<ResultsApi>(harness).ListAsync(HttpTest.Get("?blob=" + Uri.EscapeDataString(name)), default)).ExecuteAsync();
            Assert.Equal((404, "not_found"), (byQuery.Status, byQuery.Root.GetProperty("code").GetString()));

            // Tags and thumbnails put the name in a storage URL: a '.' or '..' segment, or a leading '/', does not come
            // back from the URL as the same name and is refused; anything else is escaped and addresses a (missing) blob
            // of that very name. Never the models container's blob.
            bool refused = name.StartsWith('/') || name.Split('/').Any(segment => segment is "." or "..");
            var tags = await (await Function<TagsApi>(harness).GetAsync(HttpTest.Get(), name, default)).ExecuteAsync();
            var thumbnail = await (await Thumbnails(harness).GetAsync(HttpTest.Get(), name, default)).ExecuteAsync();
            foreach (var response in new[] { tags, thumbnail })
            {
                Assert.True(
                    refused ? (response.Status, response.Root.GetProperty("code").GetString()) == (400, "invalid_blob_name") : (response.Status, response.Root.GetProperty("code").GetString()) == (404, "not_found"),
                    $"{System.Text.Json.JsonSerializer.Serialize(name)}: {response.Status} {response.Body}");
            }

            var json = System.Text.Json.JsonSerializer.Serialize(new ResNeSt.Pipeline.Serialization.BatchRequest(name), ResNeSt.Pipeline.Serialization.PipelineJsonContext.Default.BatchRequest);
            var start = await (await Function<BatchesApi>(harness).StartAsync(Json(json), default)).ExecuteAsync();
            Assert.Equal((400, "invalid_prefix"), (start.Status, start.Root.GetProperty("code").GetString()));
        }

        // Nothing was started.
        await foreach (var _ in harness.Storage.BatchJobs.QueryAsync<Azure.Data.Tables.TableEntity>())
        {
            Assert.Fail("A refused prefix must not create a job.");
        }
    }

    [Fact]
    public async Task A_name_is_given_in_the_path_or_the_query_once_never_both()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        var results = Function<ResultsApi>(harness);
        var both = await (await results.GetAsync(HttpTest.Get("?blob=a.jpg"), "a.jpg", default)).ExecuteAsync();
        Assert.Equal((400, "invalid_query"), (both.Status, both.Root.GetProperty("code").GetString()));
        var twice = await (await results.ListAsync(HttpTest.Get("?blob=a.jpg&blob=b.jpg"), default)).ExecuteAsync();
        Assert.Equal((400, "invalid_query"), (twice.Status, twice.Root.GetProperty("code").GetString()));
        var mixed = await (await results.ListAsync(HttpTest.Get("?blob=a.jpg&label=tabby"), default)).ExecuteAsync();
        Assert.Equal((400, "invalid_query"), (mixed.Status, mixed.Root.GetProperty("code").GetString()));
        var empty = await (await results.ListAsync(HttpTest.Get("?blob="), default)).ExecuteAsync();
        Assert.Equal((400, "invalid_blob_name"), (empty.Status, empty.Root.GetProperty("code").GetString()));
        var tooLong = await (await results.ListAsync(HttpTest.Get("?blob=" + new string('a', 1025)), default)).ExecuteAsync();
        Assert.Equal((400, "invalid_blob_name"), (tooLong.Status, tooLong.Root.GetProperty("code").GetString()));
        var tags = await (await Function<TagsApi>(harness).GetAsync(HttpTest.Get("?blob=a.jpg&raw=1"), null, default)).ExecuteAsync();
        Assert.Equal((400, "invalid_query"), (tags.Status, tags.Root.GetProperty("code").GetString()));
    }

    /// <summary>Names Azure allows and the trigger stores (UploadTests in the host uploads these and more); BlobNameRules.Check refuses each.</summary>
    public static TheoryData<string> StoredOddNames() =>
    [
        "odd/back\\slash.png",
        "odd\\windows\\path.png",
        "odd/tab\there.png",
        "odd/new\nline.png",
        "odd/bell\u0007and\u007fdelete.png",
        "odd/line\u2028separator.png",
        "c:/odd/drive.png",
        "C:\\odd\\drive.png",
        "odd/%2e%2e/dots.png",
        "odd/%252e%252e/twice.png",
        "https:odd-lookalike.png",
    ];

    [Fact]
    public async Task A_stored_odd_name_addresses_its_own_blob_in_a_storage_URL_and_is_found_by_every_route()
    {
        await using var harness = await PipelineHarness.StartAsync(azurite);
        foreach (string name in StoredOddNames())
        {
            var shown = System.Text.Json.JsonSerializer.Serialize(name);
            Assert.NotNull(BlobNameRules.Check(name)); // what the routes used to apply
            Assert.Null(BlobNameRules.CheckStored(name));
            Assert.Null(BlobAddress.Check(harness.Images, name));
            var blob = await harness.UploadAsync(name, TestImages.Sample("camera.png"));
            Assert.Equal(name, blob.Name);
            Assert.Equal(ResNeSt.Pipeline.Processing.OutcomeKind.Succeeded, (await harness.Pipeline.ProcessAsync(blob, "inv-odd", default)).Kind);

            var escaped = Uri.EscapeDataString(name);
            var byQuery = await (await Function<ResultsApi>(harness).ListAsync(HttpTest.Get("?blob=" + escaped), default)).ExecuteAsync();
            Assert.True((200, name) == (byQuery.Status, byQuery.Root.GetProperty("name").GetString()), $"{shown}: {byQuery.Body}");
            var byRoute = await (await Function<ResultsApi>(harness).GetAsync(HttpTest.Get(), name, default)).ExecuteAsync();
            Assert.True((200, name) == (byRoute.Status, byRoute.Root.GetProperty("name").GetString()), $"{shown}: {byRoute.Body}");
            var tags = await (await Function<TagsApi>(harness).GetAsync(HttpTest.Get("?blob=" + escaped), null, default)).ExecuteAsync();
            Assert.True((200, name) == (tags.Status, tags.Root.GetProperty("name").GetString()), $"{shown}: {tags.Body}");
            var thumbnail = await (await Thumbnails(harness).GetAsync(HttpTest.Get("?size=64&blob=" + escaped), null, default)).ExecuteAsync();
            Assert.True((200, "image/jpeg") == (thumbnail.Status, thumbnail.ContentType), $"{shown}: {thumbnail.Status} {thumbnail.Body}");
        }
    }

    [Theory]
    [InlineData("photo.jpg")]
    [InlineData("trips/2024/dog.jpg")]
    [InlineData("a..b/c...jpg")] // dots inside a segment are not traversal
    [InlineData("cat:1.jpg")]
    [InlineData("100% real.png")]
    [InlineData("bad%zzescape%")] // not an encoding of anything
    [InlineData("naïve/Ünïcødé 猫.png")]
    public void Ordinary_names_are_accepted(string name) => Assert.Null(BlobNameRules.Check(name));
}
