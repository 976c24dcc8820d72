using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ResNeSt.Infra.Tests.Container;
using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

/// <summary>
/// What the first `azd up` creates and what survives `azd deploy`: the first provision runs before any image exists
/// (placeholder image), and `azd deploy` then replaces only the image of the container app, never its ingress or
/// environment variables. Whatever must hold for the app's image must therefore already hold at the first provision.
/// </summary>
[Collection(BicepRun.Name)]
public sealed partial class FirstDeploymentTests(BicepFixture bicep)
{
    [Fact]
    public void First_provision_runs_the_placeholder_on_the_port_the_app_image_listens_on()
    {
        var first = bicep.SnapshotFor(BicepFixture.FirstProvision);
        var deployed = bicep.SnapshotFor("gpu-t4");
        var firstApp = first.Single("Microsoft.App/containerApps");
        var deployedApp = deployed.Single("Microsoft.App/containerApps");

        // The first provision has no image of ours yet; after deploy the image is the only difference azd makes.
        Assert.StartsWith("mcr.microsoft.com/azure-functions/", Image(firstApp), StringComparison.Ordinal);
        Assert.Equal(BicepFixture.ImageName, Image(deployedApp));

        var imagePort = DockerfilePort();
        foreach (var app in new[] { firstApp, deployedApp })
        {
            Assert.Equal(imagePort, (int?)app["properties"]!["configuration"]!["ingress"]!["targetPort"]);
        }

        // Ingress and settings are identical, so azd's image-only update leaves a healthy configuration.
        Assert.Equal(
            firstApp["properties"]!["configuration"]!["ingress"]!.ToJsonString(),
            deployedApp["properties"]!["configuration"]!["ingress"]!.ToJsonString());
        Assert.Equal(
            first.AppSettings.OrderBy(p => p.Key, StringComparer.Ordinal),
            deployed.AppSettings.OrderBy(p => p.Key, StringComparer.Ordinal));

        // Both images are Functions hosts (ASP.NET Core): ASPNETCORE_URLS decides their port, not the image default.
        Assert.Equal($"http://+:{imagePort}", first.AppSettings["ASPNETCORE_URLS"]);
    }

    [Theory]
    [InlineData("gpu-t4")]
    [InlineData("gpu-a100")]
    [InlineData(BicepFixture.FirstProvision)]
    public void Container_apps_keep_their_keys_in_storage_under_a_stable_host_id(string key)
    {
        var snapshot = bicep.SnapshotFor(key);
        var settings = snapshot.AppSettings;
        var app = snapshot.Single("Microsoft.App/containerApps");

        // The default ('files') lives in the replica's ephemeral file system: a restart, scale from zero or new
        // revision would mint a new blobs_extension key and every Event Grid delivery would get 401.
        Assert.Equal("blob", settings["AzureWebJobsSecretStorageType"]);
        var hostId = settings["AzureFunctionsWebHost__hostid"];
        Assert.Equal(Snapshot.NameOf(app), hostId);
        // Host ids: at most 32 characters, lower-case letters, digits and dashes, no leading or trailing dash.
        Assert.Matches(HostId(), hostId);

        // Blob secret storage writes through AzureWebJobsStorage: the host account with the app's identity, which
        // holds Storage Blob Data Owner there.
        Assert.StartsWith("[format('https://{0}.blob.{1}', 'sthost", settings["AzureWebJobsStorage__blobServiceUri"], StringComparison.Ordinal);
    }

    [Fact]
    public void Flex_consumption_manages_its_own_keys_and_host_id()
    {
        var settings = bicep.SnapshotFor("cpu-flex").AppSettings;
        Assert.False(settings.ContainsKey("AzureFunctionsWebHost__hostid"));
        Assert.False(settings.ContainsKey("ASPNETCORE_URLS"));
    }

    [Theory]
    [InlineData("gpu-t4")]
    [InlineData("gpu-a100")]
    [InlineData("cpu-flex")]
    public void Every_binding_expression_of_the_functions_resolves_from_the_app_settings(string hosting)
    {
        var settings = bicep.SnapshotFor(hosting).AppSettings;
        var expressions = Directory.EnumerateFiles(Path.Combine(Repository.Root, "src", "ResNeSt.Functions"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(file => BindingExpression().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        foreach (var expression in expressions)
        {
            // %A:B% in a binding is the configuration key A:B, i.e. the environment variable A__B.
            var setting = expression.Replace(":", "__", StringComparison.Ordinal);
            Assert.True(settings.ContainsKey(setting) && settings[setting].Length > 0, $"{hosting}: %{expression}% has no app setting {setting}");
        }

        Assert.Equal(Repository.Name("containers.images"), settings["Pipeline__ImagesContainer"]);
        Assert.Equal(Repository.Name("queues.classify"), settings["Pipeline__ClassifyQueue"]);
    }

    [Theory]
    [InlineData("gpu-t4")]
    [InlineData("cpu-flex")]
    public void Application_insights_accepts_only_entra_id_telemetry_by_default(string hosting)
    {
        var snapshot = bicep.SnapshotFor(hosting);
        var insights = snapshot.Single("Microsoft.Insights/components");
        Assert.True(true == (bool?)insights["properties"]!["DisableLocalAuth"], "instrumentation-key ingestion must be off");
        Assert.StartsWith("[format('Authorization=AAD;ClientId={0}'", snapshot.AppSettings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);
        var main = bicep.Compiled["main.bicep"]["parameters"]!["appInsightsDisableLocalAuth"]!;
        Assert.True(true == (bool?)main["defaultValue"]);
    }

    [Fact]
    public void A_gpu_hosting_outside_the_serverless_gpu_regions_fails_before_anything_is_created()
    {
        var gpu = bicep.SnapshotRuns[BicepFixture.GpuOutsideGpuRegions];
        Assert.NotEqual(0, gpu.ExitCode);
        Assert.Contains($"Serverless GPUs (gpu-t4) are not offered in {BicepFixture.RegionWithoutServerlessGpus}", gpu.StandardOutput + gpu.StandardError, StringComparison.Ordinal);

        var flex = bicep.SnapshotRuns[BicepFixture.FlexOutsideGpuRegions];
        Assert.True(flex.ExitCode == 0, flex.Describe());

        // azd prompts for the location with its region picker.
        var location = bicep.Compiled["main.bicep"]["parameters"]!["location"]!;
        Assert.Equal("location", (string?)location["metadata"]!["azd"]!["type"]);
    }

    [Fact]
    public void Dead_lettered_or_dropped_events_raise_an_alert_on_the_system_topic()
    {
        var snapshot = bicep.SnapshotFor("gpu-t4");
        var topic = snapshot.Single("Microsoft.EventGrid/systemTopics");
        var alerts = snapshot.OfType("Microsoft.Insights/metricAlerts").ToList();
        var metrics = new List<string>();
        foreach (var alert in alerts)
        {
            Assert.Equal(Snapshot.IdOf(topic), (string?)alert["properties"]!["scopes"]![0]);
            // One criterion per alert: criteria of one alert are ANDed.
            var criterion = Assert.Single(alert["properties"]!["criteria"]!["allOf"]!.AsArray())!;
            Assert.Equal("GreaterThan", (string?)criterion["operator"]);
            Assert.Equal(0, (int?)criterion["threshold"]);
            metrics.Add((string)criterion["metricName"]!);
        }

        Assert.Equal(["DeadLetteredCount", "DroppedEventCount"], metrics.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_gpu_execution_provider_is_cuda_by_default_and_can_be_set_to_auto()
    {
        Assert.Equal("cuda", bicep.SnapshotFor("gpu-t4").AppSettings[Repository.Name("settings.executionProvider")]);
        var parameter = bicep.Compiled["main.bicep"]["parameters"]!["gpuExecutionProvider"]!;
        Assert.Equal(["cuda", "auto"], parameter["allowedValues"]!.AsArray().Select(v => (string)v!));
        var azd = JsonNode.Parse(Repository.Read("infra", "main.parameters.json"))!["parameters"]!;
        Assert.Equal("${RESNEST_GPU_EXECUTION_PROVIDER=cuda}", (string?)azd["gpuExecutionProvider"]!["value"]);
        Assert.Equal("${RESNEST_GPU_REGION_CHECK=on}", (string?)azd["gpuRegionCheck"]!["value"]);
    }

    private static string Image(JsonObject app) => (string)app["properties"]!["template"]!["containers"]![0]!["image"]!;

    private static int DockerfilePort()
    {
        var file = Dockerfile.Parse(File.ReadAllText(Repository.Dockerfile));
        var match = AspNetCoreUrls().Match(string.Join('\n', file.Final.All("ENV")));
        Assert.True(match.Success, "the Dockerfile sets no ASPNETCORE_URLS");
        return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"ASPNETCORE_URLS=http://\+:(\d+)")]
    private static partial Regex AspNetCoreUrls();

    [GeneratedRegex(@"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")]
    private static partial Regex HostId();

    // The first %name% of each binding attribute's path (every binding here has at most one).
    [GeneratedRegex(@"(?:Trigger|Input|Output)\(""[^""]*%([A-Za-z0-9_:]+)%")]
    private static partial Regex BindingExpression();
}
