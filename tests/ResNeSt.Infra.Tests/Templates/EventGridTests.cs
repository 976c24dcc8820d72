using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

[Collection(BicepRun.Name)]
public sealed class EventGridTests(BicepFixture bicep)
{
    [Theory]
    [InlineData("gpu-t4")]
    [InlineData("cpu-flex")]
    public void A_system_topic_publishes_the_data_account_with_its_own_identity_for_dead_letters(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var topic = snapshot.Single("Microsoft.EventGrid/systemTopics");
        var data = snapshot.StorageAccounts.Single(a => !Snapshot.NameOf(a).StartsWith("sthost", StringComparison.Ordinal));
        Assert.Equal(Snapshot.IdOf(data), (string?)topic["properties"]!["source"]);
        Assert.Equal("Microsoft.Storage.StorageAccounts", (string?)topic["properties"]!["topicType"]);
        Assert.Equal("SystemAssigned", (string?)topic["identity"]!["type"]);
        // The subscription itself needs the host's system key, so the postdeploy hook creates it, not the template.
        Assert.Empty(snapshot.OfType("Microsoft.EventGrid/systemTopics/eventSubscriptions"));
    }
}
