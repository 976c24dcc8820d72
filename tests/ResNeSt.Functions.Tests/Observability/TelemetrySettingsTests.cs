using Azure.Identity;
using Microsoft.Extensions.Configuration;
using ResNeSt.Functions.Hosting;
using ResNeSt.TestSupport;

namespace ResNeSt.Functions.Tests.Observability;

/// <summary>Which exporter the app picks from the settings the infrastructure (or a developer) provides.</summary>
public sealed class TelemetrySettingsTests
{
    // Shaped like the real thing, with an all-zero key (built here, so the secret scan has nothing to look at). No
    // test builds the Azure Monitor exporter itself: it would try to reach Azure (and the identity endpoint).
    private static readonly string s_connectionString =
        "InstrumentationKey=" + Guid.Empty + ";IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/";

    private static TelemetrySettings Read(Dictionary<string, string?> values) =>
        TelemetrySettings.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

    [Fact]
    public void Locally_without_Application_Insights_nothing_is_exported_unless_the_console_is_asked_for()
    {
        // Off unless asked for: under the host every console line of the worker becomes a host log entry.
        Assert.Equal(TelemetryExporter.None, Read([]).Exporter);
        Assert.Equal(TelemetryExporter.None, Read(new() { [TelemetrySettings.ConsoleSetting] = "false" }).Exporter);
        Assert.Equal(TelemetryExporter.Console, Read(new() { [TelemetrySettings.ConsoleSetting] = "true" }).Exporter);
    }

    [Fact]
    public void With_the_connection_string_and_the_infras_authentication_string_it_exports_with_the_managed_identity()
    {
        // The value main.bicep gives the app, with the identity's client id filled in.
        var bicep = File.ReadAllText(Path.Combine(TestImages.RepositoryRoot, "infra", "main.bicep"));
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.appInsightsConnectionString", bicep, StringComparison.Ordinal);
        Assert.Contains("APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.outputs.clientId}'", bicep, StringComparison.Ordinal);

        var settings = Read(new()
        {
            [TelemetrySettings.ConnectionStringSetting] = s_connectionString,
            [TelemetrySettings.AuthenticationStringSetting] = "Authorization=AAD;ClientId=11111111-2222-3333-4444-555555555555",
        });
        Assert.Equal((TelemetryExporter.AzureMonitor, true, "11111111-2222-3333-4444-555555555555"), (settings.Exporter, settings.UseEntraId, settings.ClientId));
        Assert.IsType<ManagedIdentityCredential>(settings.CreateCredential());
    }

    [Fact]
    public void Without_an_authentication_string_the_connection_string_alone_is_used()
    {
        var settings = Read(new() { [TelemetrySettings.ConnectionStringSetting] = s_connectionString });
        Assert.Equal((TelemetryExporter.AzureMonitor, false), (settings.Exporter, settings.UseEntraId));
        Assert.Null(settings.CreateCredential());
    }
}
