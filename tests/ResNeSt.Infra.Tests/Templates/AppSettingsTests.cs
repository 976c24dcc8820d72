using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

[Collection(BicepRun.Name)]
public sealed class AppSettingsTests(BicepFixture bicep)
{
    public static TheoryData<string> Hostings => new(BicepFixture.Hostings);

    [Theory]
    [MemberData(nameof(Hostings))]
    public void Settings_name_exactly_the_resources_of_names_json(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var settings = snapshot.AppSettings;

        Assert.Equal(Repository.Name("containers.images"), settings[Repository.Name("settings.imagesContainer")]);
        Assert.Equal(Repository.Name("queues.classify"), settings[Repository.Name("settings.classifyQueue")]);
        Assert.Equal("resnest50.onnx", settings[Repository.Name("settings.modelBlobName")]);
        Assert.Equal(snapshot.IsGpu ? "cuda" : "cpu", settings[Repository.Name("settings.executionProvider")]);
        // The setting names themselves are the ones the app binds (names.json is what ResNeSt.Pipeline embeds).
        Assert.Equal("Pipeline__ImagesContainer", Repository.Name("settings.imagesContainer"));
        Assert.Equal("Pipeline__ClassifyQueue", Repository.Name("settings.classifyQueue"));
        Assert.Equal("Model__BlobName", Repository.Name("settings.modelBlobName"));
        Assert.Equal("Inference__ExecutionProvider", Repository.Name("settings.executionProvider"));
        // No SHA-256 was given, so none is set (an empty value would fail the app's validation).
        Assert.False(settings.ContainsKey(Repository.Name("settings.modelSha256")));
    }

    [Theory]
    [MemberData(nameof(Hostings))]
    public void Storage_connections_are_identity_based(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var settings = snapshot.AppSettings;
        var dataAccount = Snapshot.NameOf(snapshot.StorageAccounts.Single(a => !Snapshot.NameOf(a).StartsWith("sthost", StringComparison.Ordinal)));
        var hostAccount = Snapshot.NameOf(snapshot.StorageAccounts.Single(a => Snapshot.NameOf(a).StartsWith("sthost", StringComparison.Ordinal)));

        foreach (var (connection, account) in new[] { (Repository.Name("connectionName"), dataAccount), ("AzureWebJobsStorage", hostAccount) })
        {
            foreach (var service in new[] { "blob", "queue", "table" })
            {
                var uri = settings[$"{connection}__{service}ServiceUri"];
                Assert.Equal($"[format('https://{{0}}.{service}.{{1}}', '{account}', environment().suffixes.storage)]", uri);
            }

            Assert.Equal("managedidentity", settings[$"{connection}__credential"]);
            Assert.Equal(ClientIdOfTheAppIdentity(snapshot), settings[$"{connection}__clientId"]);
            Assert.False(settings.ContainsKey(connection), $"{connection} must not be a connection string");
        }

        Assert.Equal(ClientIdOfTheAppIdentity(snapshot), settings["AZURE_CLIENT_ID"]);
        Assert.Equal("ImageStorage", Repository.Name("connectionName"));
        Assert.Equal(
            $"[reference('{Snapshot.IdOf(snapshot.Single("Microsoft.Insights/components"))}', '2020-02-02').ConnectionString]",
            settings["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
        Assert.StartsWith("[format('Authorization=AAD;ClientId={0}'", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
    }

    // The user-assigned identity's client id, read at deployment time.
    private static string ClientIdOfTheAppIdentity(Snapshot snapshot) =>
        $"[reference('{Snapshot.IdOf(snapshot.Single("Microsoft.ManagedIdentity/userAssignedIdentities"))}', '2024-11-30').clientId]";

    [Theory]
    [MemberData(nameof(Hostings))]
    public void The_worker_runtime_setting_exists_only_where_the_platform_allows_it(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        if (snapshot.IsGpu)
        {
            Assert.Equal("dotnet-isolated", snapshot.AppSettings["FUNCTIONS_WORKER_RUNTIME"]);
        }
        else
        {
            // Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME; functionAppConfig.runtime carries it.
            Assert.False(snapshot.AppSettings.ContainsKey("FUNCTIONS_WORKER_RUNTIME"));
            Assert.False(snapshot.AppSettings.ContainsKey("FUNCTIONS_EXTENSION_VERSION"));
        }
    }

    [Theory]
    [MemberData(nameof(Hostings))]
    public void Nothing_in_the_deployment_carries_a_storage_key_or_sas(string hosting)
    {
        var json = bicep.SnapshotFor(hosting).Json;
        foreach (var forbidden in new[] { "AccountKey=", "SharedAccessSignature", "listKeys(", "\"sharedKey\":", "primarySharedKey" })
        {
            Assert.DoesNotContain(forbidden, json, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void No_template_or_parameter_file_mentions_keys()
    {
        var files = Directory.EnumerateFiles(Repository.Infra, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".bicep", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            foreach (var forbidden in new[] { "AccountKey=", "SharedAccessSignature", "listKeys(", "primarySharedKey", "adminUserEnabled: true" })
            {
                Assert.False(text.Contains(forbidden, StringComparison.OrdinalIgnoreCase), $"{file} contains {forbidden}");
            }
        }

        foreach (var compiled in bicep.Compiled)
        {
            Assert.DoesNotContain("listKeys(", compiled.Value.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        }
    }
}
