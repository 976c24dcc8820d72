using System.Text.Json.Nodes;
using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

[Collection(BicepRun.Name)]
public sealed class AzdTests(BicepFixture bicep)
{
    [Fact]
    public void Every_azd_parameter_is_a_parameter_of_main_bicep()
    {
        var parameters = JsonNode.Parse(Repository.Read("infra", "main.parameters.json"))!["parameters"]!.AsObject();
        var declared = bicep.Compiled["main.bicep"]["parameters"]!.AsObject();
        foreach (var (name, _) in parameters)
        {
            Assert.True(declared.ContainsKey(name), $"main.parameters.json sets '{name}', which main.bicep does not declare");
        }

        foreach (var (name, definition) in declared)
        {
            var hasDefault = definition!.AsObject().ContainsKey("defaultValue");
            Assert.True(hasDefault || parameters.ContainsKey(name), $"azd gives no value for required parameter '{name}'");
        }

        Assert.Equal("${RESNEST_HOSTING=gpu-t4}", (string?)parameters["hosting"]!["value"]);
        Assert.Equal("${SERVICE_FUNCTIONS_IMAGE_NAME}", (string?)parameters["functionsImageName"]!["value"]);
    }

    [Fact]
    public void Main_exposes_what_azd_needs_to_build_and_deploy()
    {
        var outputs = bicep.Compiled["main.bicep"]["outputs"]!.AsObject();
        foreach (var name in new[] { "AZURE_CONTAINER_REGISTRY_ENDPOINT", "AZURE_RESOURCE_GROUP", "AZURE_LOCATION", "AZURE_TENANT_ID", "FUNCTION_APP_NAME" })
        {
            Assert.True(outputs.ContainsKey(name), name);
        }

        // azd finds the service's resource by this tag on whichever app the hosting choice creates.
        foreach (var hosting in BicepFixture.Hostings)
        {
            var app = bicep.SnapshotFor(hosting).FunctionApp;
            Assert.Equal("functions", (string?)app["tags"]!["azd-service-name"]);
        }
    }

    [Fact]
    public void Both_azure_yaml_files_use_the_same_infra_and_the_right_host()
    {
        var gpu = Repository.Read("azure.yaml");
        Assert.Contains("host: containerapp", gpu, StringComparison.Ordinal);
        Assert.Contains("path: infra", gpu, StringComparison.Ordinal);
        var flex = Repository.Read("deploy", "cpu-flex", "azure.yaml");
        Assert.Contains("host: function", flex, StringComparison.Ordinal);
        Assert.Contains("path: ../../infra", flex, StringComparison.Ordinal);
        Assert.Contains("project: ../../src/ResNeSt.Functions", flex, StringComparison.Ordinal);
    }
}
