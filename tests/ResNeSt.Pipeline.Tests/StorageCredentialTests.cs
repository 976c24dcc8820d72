using Azure.Identity;
using ResNeSt.Pipeline.Configuration;

namespace ResNeSt.Pipeline.Tests;

/// <summary>Identity-based storage connections use the managed identity on an Azure host, and only it.</summary>
public sealed class StorageCredentialTests
{
    private static readonly StorageConnection s_identity = new(
        null, new Uri("https://acct.blob.core.windows.net"), new Uri("https://acct.queue.core.windows.net"), new Uri("https://acct.table.core.windows.net"), null);

    [Fact]
    public void On_an_Azure_host_the_credential_is_the_managed_identity_not_the_default_chain()
    {
        Assert.IsType<ManagedIdentityCredential>(s_identity.CreateCredential(onAzureHost: true));
        Assert.IsType<ManagedIdentityCredential>((s_identity with { ManagedIdentityClientId = "00000000-0000-0000-0000-000000000001" }).CreateCredential(onAzureHost: true));
    }

    [Fact]
    public void Off_Azure_a_developer_login_is_used() =>
        Assert.IsType<DefaultAzureCredential>(s_identity.CreateCredential(onAzureHost: false));

    [Theory]
    [InlineData("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token", true)]
    [InlineData("WEBSITE_INSTANCE_ID", "abc", true)]
    [InlineData("HOME", "/root", false)]
    public void The_host_is_recognised_from_its_environment(string name, string value, bool azure) =>
        Assert.Equal(azure, StorageConnection.RunsOnAzureHost(key => key == name ? value : null));
}
