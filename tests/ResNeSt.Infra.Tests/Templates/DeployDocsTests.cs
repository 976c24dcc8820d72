using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

public sealed class DeployDocsTests
{
    [Fact]
    public void Docs_deploy_md_exists_where_azure_yaml_main_bicep_and_the_hooks_point()
    {
        var docs = Repository.Read("docs", "deploy.md");
        Assert.StartsWith("# ", docs, StringComparison.Ordinal);
        foreach (var file in new[] { "azure.yaml", "infra/main.bicep", "infra/hooks/postdeploy.sh", "infra/hooks/postdeploy.ps1" })
        {
            Assert.Contains("docs/deploy.md", Repository.Read(file.Split('/')), StringComparison.Ordinal);
        }

        foreach (var topic in new[] { "quota", "westus3", "webjobs-blobtrigger-poison", "eventgrid-deadletter", "202", "cuda_driver_too_old", "AzureWebJobsSecretStorageType" })
        {
            Assert.Contains(topic, docs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_blob_trigger_says_the_host_retries_not_event_grid()
    {
        var trigger = Repository.Read("src", "ResNeSt.Functions", "Triggers", "ClassifyUploadedImage.cs");
        Assert.DoesNotContain("so Event Grid redelivers", trigger, StringComparison.Ordinal);
        Assert.Contains("webjobs-blobtrigger-poison", trigger, StringComparison.Ordinal);
    }
}
