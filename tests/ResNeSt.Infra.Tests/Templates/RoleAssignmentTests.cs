using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

/// <summary>Every role assignment of the deployment: its role, its scope and who holds it. Nothing more, nothing broader.</summary>
[Collection(BicepRun.Name)]
public sealed class RoleAssignmentTests(BicepFixture bicep)
{
    // Built-in role ids (same in every tenant), checked against Microsoft's built-in roles reference.
    private const string BlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string BlobDataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string BlobDataReader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
    private const string QueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string TableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string AcrPull = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";
    private const string ImageTagger = "image-tagger (custom)";

    private const string App = "app identity";
    private const string Topic = "event grid topic";
    private const string User = "deploying user";

    public static TheoryData<string> Hostings => new(BicepFixture.Hostings);

    [Theory]
    [MemberData(nameof(Hostings))]
    public void Role_assignments_are_exactly_the_expected_least_privilege_set(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var rg = $"/subscriptions/{BicepFixture.SubscriptionId}/resourceGroups/rg-{BicepFixture.EnvironmentName}/providers";
        var data = $"{rg}/Microsoft.Storage/storageAccounts/{DataAccount(snapshot)}";
        var host = $"{rg}/Microsoft.Storage/storageAccounts/{HostAccount(snapshot)}";
        var customRole = Snapshot.IdOf(snapshot.Single("Microsoft.Authorization/roleDefinitions"));
        var appPrincipal = $"[reference('{Snapshot.IdOf(snapshot.Single("Microsoft.ManagedIdentity/userAssignedIdentities"))}', '2024-11-30').principalId]";
        var topicPrincipal = $"[reference('{Snapshot.IdOf(snapshot.Single("Microsoft.EventGrid/systemTopics"))}', '2025-02-15', 'full').identity.principalId]";

        var expected = new List<(string Scope, string Role, string Principal)>
        {
            ($"{data}/blobServices/default/containers/{Repository.Name("containers.images")}", ImageTagger, App),
            ($"{data}/blobServices/default/containers/{Repository.Name("containers.models")}", BlobDataReader, App),
            ($"{data}/queueServices/default/queues/{Repository.Name("queues.classify")}", QueueDataContributor, App),
            ($"{data}/queueServices/default/queues/{Repository.Name("queues.classify")}-poison", QueueDataContributor, App),
            ($"{data}/queueServices/default/queues/webjobs-blobtrigger-poison", QueueDataContributor, App),
            ($"{data}/tableServices/default/tables/{Repository.Name("tables.results")}", TableDataContributor, App),
            ($"{data}/tableServices/default/tables/{Repository.Name("tables.labelIndex")}", TableDataContributor, App),
            ($"{data}/tableServices/default/tables/{Repository.Name("tables.batchJobs")}", TableDataContributor, App),
            (host, BlobDataOwner, App),
            (host, QueueDataContributor, App),
            (host, TableDataContributor, App),
            ($"{rg}/Microsoft.Insights/components/{Snapshot.NameOf(snapshot.Single("Microsoft.Insights/components"))}", MonitoringMetricsPublisher, App),
            ($"{data}/blobServices/default/containers/{Repository.Name("containers.deadLetter")}", BlobDataContributor, Topic),
            ($"{data}/blobServices/default/containers/{Repository.Name("containers.images")}", BlobDataContributor, User),
            ($"{data}/blobServices/default/containers/{Repository.Name("containers.models")}", BlobDataContributor, User),
        };
        if (snapshot.IsGpu)
        {
            expected.Add(($"{rg}/Microsoft.ContainerRegistry/registries/{Snapshot.NameOf(snapshot.Single("Microsoft.ContainerRegistry/registries"))}", AcrPull, App));
        }

        var actual = snapshot.OfType("Microsoft.Authorization/roleAssignments").Select(assignment =>
        {
            var id = Snapshot.IdOf(assignment);
            var scope = id[..id.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.Ordinal)];
            var roleId = (string)assignment["properties"]!["roleDefinitionId"]!;
            var role = roleId == customRole ? ImageTagger : roleId[(roleId.LastIndexOf('/') + 1)..];
            Assert.Equal(roleId == customRole ? customRole : BicepFixture.RoleDefinitionId(role), roleId);
            var principalId = (string)assignment["properties"]!["principalId"]!;
            var principal = principalId == BicepFixture.DeployingUser ? User
                : principalId == appPrincipal ? App
                : principalId == topicPrincipal ? Topic
                : principalId;
            Assert.Equal(principal == User ? "User" : "ServicePrincipal", (string?)assignment["properties"]!["principalType"]);
            return (scope, role, principal);
        }).ToList();

        Assert.Equal(Sorted(expected), Sorted(actual));
    }

    [Theory]
    [MemberData(nameof(Hostings))]
    public void The_image_tagger_role_grants_reading_images_and_their_tags_and_nothing_else(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var role = snapshot.Single("Microsoft.Authorization/roleDefinitions");
        var properties = role["properties"]!;
        Assert.Equal("CustomRole", (string?)properties["type"]);
        Assert.Equal(
            [$"/subscriptions/{BicepFixture.SubscriptionId}/resourceGroups/rg-{BicepFixture.EnvironmentName}"],
            properties["assignableScopes"]!.AsArray().Select(s => (string)s!));
        var permissions = properties["permissions"]!.AsArray().Single()!;
        Assert.Empty(permissions["actions"]!.AsArray());
        Assert.Equal(
            [
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/filter/action",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write",
            ],
            permissions["dataActions"]!.AsArray().Select(a => (string)a!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Nothing_is_granted_at_resource_group_or_subscription_scope()
    {
        foreach (var hosting in BicepFixture.Hostings)
        {
            foreach (var assignment in bicep.SnapshotFor(hosting).OfType("Microsoft.Authorization/roleAssignments"))
            {
                var id = Snapshot.IdOf(assignment);
                var scope = id[..id.IndexOf("/providers/Microsoft.Authorization/roleAssignments/", StringComparison.Ordinal)];
                Assert.Contains("/providers/", scope, StringComparison.Ordinal);
            }
        }
    }

    private static string DataAccount(Snapshot snapshot) =>
        Snapshot.NameOf(snapshot.StorageAccounts.Single(a => !Snapshot.NameOf(a).StartsWith("sthost", StringComparison.Ordinal)));

    private static string HostAccount(Snapshot snapshot) =>
        Snapshot.NameOf(snapshot.StorageAccounts.Single(a => Snapshot.NameOf(a).StartsWith("sthost", StringComparison.Ordinal)));

    private static List<string> Sorted(IEnumerable<(string Scope, string Role, string Principal)> items) =>
        items.Select(i => $"{i.Principal} | {i.Role} | {i.Scope}").Order(StringComparer.Ordinal).ToList();
}
