using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

[Collection(BicepRun.Name)]
public sealed class StorageTests(BicepFixture bicep)
{
    public static TheoryData<string> Hostings => new(BicepFixture.Hostings);

    [Theory]
    [MemberData(nameof(Hostings))]
    public void Every_storage_account_is_identity_only_https_tls12_and_private(string hosting)
    {
        var accounts = bicep.SnapshotFor(hosting).StorageAccounts.ToList();
        Assert.Equal(2, accounts.Count);
        foreach (var account in accounts)
        {
            var properties = account["properties"]!;
            var name = Snapshot.NameOf(account);
            Assert.True(false == (bool?)properties["allowSharedKeyAccess"], $"{name}: shared key access must be off");
            Assert.True(false == (bool?)properties["allowBlobPublicAccess"], $"{name}: public blob access must be off");
            Assert.True(true == (bool?)properties["supportsHttpsTrafficOnly"], $"{name}: HTTPS only");
            Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
            Assert.True(true == (bool?)properties["defaultToOAuthAuthentication"], $"{name}: Entra ID by default in the portal");
        }
    }

    [Theory]
    [MemberData(nameof(Hostings))]
    public void The_data_account_holds_exactly_the_containers_queues_and_tables_of_names_json(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var data = snapshot.StorageAccounts.Single(a => !Snapshot.NameOf(a).StartsWith("sthost", StringComparison.Ordinal));
        var prefix = Snapshot.IdOf(data);

        Assert.Equal(
            new[] { Repository.Name("containers.images"), Repository.Name("containers.models"), Repository.Name("containers.deadLetter") }.Order(),
            ChildNames(snapshot, "Microsoft.Storage/storageAccounts/blobServices/containers", prefix).Order());
        Assert.Equal(
            new[] { Repository.Name("queues.classify"), Repository.Name("queues.classify") + "-poison", "webjobs-blobtrigger-poison" }.Order(),
            ChildNames(snapshot, "Microsoft.Storage/storageAccounts/queueServices/queues", prefix).Order());
        Assert.Equal(
            new[] { Repository.Name("tables.results"), Repository.Name("tables.labelIndex"), Repository.Name("tables.batchJobs") }.Order(),
            ChildNames(snapshot, "Microsoft.Storage/storageAccounts/tableServices/tables", prefix).Order());

        foreach (var container in snapshot.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"))
        {
            Assert.Equal("None", (string?)container["properties"]?["publicAccess"]);
        }
    }

    [Theory]
    [MemberData(nameof(Hostings))]
    public void The_host_account_holds_only_the_flex_deployment_container(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var host = snapshot.StorageAccounts.Single(a => Snapshot.NameOf(a).StartsWith("sthost", StringComparison.Ordinal));
        var containers = ChildNames(snapshot, "Microsoft.Storage/storageAccounts/blobServices/containers", Snapshot.IdOf(host));
        Assert.Equal(snapshot.IsGpu ? [] : ["app-package"], containers);
    }

    private static List<string> ChildNames(Snapshot snapshot, string type, string accountId) =>
        snapshot.OfType(type)
            .Where(r => Snapshot.IdOf(r).StartsWith(accountId + "/", StringComparison.OrdinalIgnoreCase))
            .Select(r => Snapshot.NameOf(r).Split('/')[^1])
            .ToList();
}
