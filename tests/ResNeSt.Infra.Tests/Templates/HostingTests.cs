using System.Globalization;
using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

[Collection(BicepRun.Name)]
public sealed class HostingTests(BicepFixture bicep)
{
    [Theory]
    [InlineData("gpu-t4", "Consumption-GPU-NC8as-T4", 8, 56)]
    [InlineData("gpu-a100", "Consumption-GPU-NC24-A100", 24, 220)]
    public void Gpu_hosting_runs_the_functions_app_on_its_serverless_gpu_profile(
        string hosting, string profileType, int maxCpu, int maxMemoryGi)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var environment = snapshot.Single("Microsoft.App/managedEnvironments");
        var profiles = environment["properties"]!["workloadProfiles"]!.AsArray();
        var gpu = profiles.Single(p => (string?)p!["workloadProfileType"] == profileType)!;
        Assert.Equal(2, profiles.Count);
        Assert.Contains(profiles, p => (string?)p!["workloadProfileType"] == "Consumption");

        var app = snapshot.Single("Microsoft.App/containerApps");
        var properties = app["properties"]!;
        Assert.Equal("functionapp", (string?)app["kind"]);
        Assert.True(string.CompareOrdinal((string)app["apiVersion"]!, "2025-07-01") >= 0, (string?)app["apiVersion"]);
        Assert.Equal((string?)gpu["name"], (string?)properties["workloadProfileName"]);
        Assert.Equal(Snapshot.IdOf(environment), (string?)properties["environmentId"]);

        // Scale to zero, ingress on (Event Grid and HTTP callers reach the host through it).
        Assert.Equal(0, (int?)properties["template"]!["scale"]!["minReplicas"]);
        Assert.True(true == (bool?)properties["configuration"]!["ingress"]!["external"]);
        Assert.Equal(8080, (int?)properties["configuration"]!["ingress"]!["targetPort"]);
        Assert.True(false == (bool?)properties["configuration"]!["ingress"]!["allowInsecure"]);

        var container = properties["template"]!["containers"]!.AsArray().Single()!;
        Assert.Equal(BicepFixture.ImageName, (string?)container["image"]);
        Assert.InRange(double.Parse(container["resources"]!["cpu"]!.ToJsonString(), CultureInfo.InvariantCulture), 1, maxCpu);
        var memory = (string)container["resources"]!["memory"]!;
        Assert.EndsWith("Gi", memory, StringComparison.Ordinal);
        Assert.InRange(double.Parse(memory[..^2], CultureInfo.InvariantCulture), 1, maxMemoryGi);

        // Pulls from the registry as the user-assigned identity (the registry has no admin user).
        Assert.Equal("UserAssigned", (string?)app["identity"]!["type"]);
        var registry = properties["configuration"]!["registries"]!.AsArray().Single()!;
        Assert.Equal(Single(app["identity"]!["userAssignedIdentities"]!.AsObject().Select(p => p.Key)), (string?)registry["identity"]);
        var acr = snapshot.Single("Microsoft.ContainerRegistry/registries");
        Assert.True(false == (bool?)acr["properties"]!["adminUserEnabled"]);
        Assert.Empty(snapshot.OfType("Microsoft.Web/sites"));
        Assert.Empty(snapshot.OfType("Microsoft.Web/serverfarms"));
    }

    [Fact]
    public void The_gpu_choices_differ_only_in_the_profile()
    {
        var t4 = bicep.SnapshotFor("gpu-t4").Single("Microsoft.App/managedEnvironments");
        var a100 = bicep.SnapshotFor("gpu-a100").Single("Microsoft.App/managedEnvironments");
        Assert.NotEqual(
            t4["properties"]!["workloadProfiles"]!.ToJsonString(),
            a100["properties"]!["workloadProfiles"]!.ToJsonString());
    }

    [Fact]
    public void Cpu_hosting_is_a_flex_consumption_function_app_with_identity_based_deployment_storage()
    {
        var snapshot = bicep.SnapshotFor("cpu-flex");
        Assert.Empty(snapshot.OfType("Microsoft.App/containerApps"));
        Assert.Empty(snapshot.OfType("Microsoft.App/managedEnvironments"));
        Assert.Empty(snapshot.OfType("Microsoft.ContainerRegistry/registries"));

        var plan = snapshot.Single("Microsoft.Web/serverfarms");
        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);

        var site = snapshot.Single("Microsoft.Web/sites");
        Assert.Equal("functionapp,linux", (string?)site["kind"]);
        var properties = site["properties"]!;
        Assert.Equal(Snapshot.IdOf(plan), (string?)properties["serverFarmId"]);
        Assert.True(true == (bool?)properties["httpsOnly"]);
        var config = properties["functionAppConfig"]!;
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]!["name"]);
        Assert.Equal("10.0", (string?)config["runtime"]!["version"]);
        var storage = config["deployment"]!["storage"]!;
        Assert.Equal("blobContainer", (string?)storage["type"]);
        Assert.Contains("app-package", (string?)storage["value"], StringComparison.Ordinal);
        Assert.Equal("UserAssignedIdentity", (string?)storage["authentication"]!["type"]);
        Assert.Null(storage["authentication"]!["storageAccountConnectionStringName"]);
    }

    [Theory]
    [InlineData("gpu-t4")]
    [InlineData("gpu-a100")]
    [InlineData("cpu-flex")]
    public void Monitoring_is_log_analytics_plus_workspace_based_application_insights(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var workspace = snapshot.Single("Microsoft.OperationalInsights/workspaces");
        var insights = snapshot.Single("Microsoft.Insights/components");
        Assert.Equal(Snapshot.IdOf(workspace), (string?)insights["properties"]!["WorkspaceResourceId"]);
        if (snapshot.IsGpu)
        {
            // Container Apps logs go through a diagnostic setting, not the workspace's shared key.
            var environment = snapshot.Single("Microsoft.App/managedEnvironments");
            Assert.Equal("azure-monitor", (string?)environment["properties"]!["appLogsConfiguration"]!["destination"]);
            var diagnostics = snapshot.Single("Microsoft.Insights/diagnosticSettings");
            Assert.Equal(Snapshot.IdOf(workspace), (string?)diagnostics["properties"]!["workspaceId"]);
        }
    }

    private static string Single(IEnumerable<string> values) => Assert.Single(values);
}
