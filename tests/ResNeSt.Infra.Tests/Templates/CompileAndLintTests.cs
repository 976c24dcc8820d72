using System.Text.Json.Nodes;
using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Templates;

[Collection(BicepRun.Name)]
public sealed class CompileAndLintTests(BicepFixture bicep)
{
    [Fact]
    public void Every_bicep_file_compiles_without_a_diagnostic()
    {
        Assert.True(bicep.Build.ExitCode == 0, bicep.Build.Describe());
        Assert.True(string.IsNullOrWhiteSpace(bicep.Build.StandardError), bicep.Build.Describe());
        Assert.Contains("main.bicep", bicep.BicepFiles);
        Assert.True(bicep.BicepFiles.Count >= 10, string.Join(", ", bicep.BicepFiles));
        Assert.Equal(bicep.BicepFiles, bicep.Compiled.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Lint_reports_nothing_for_any_file()
    {
        Assert.True(bicep.Lint.ExitCode == 0, bicep.Lint.Describe());
        Assert.True(string.IsNullOrWhiteSpace(bicep.Lint.StandardError + bicep.Lint.StandardOutput), bicep.Lint.Describe());
    }

    [Theory]
    [InlineData("no-hardcoded-env-urls")]
    [InlineData("no-hardcoded-location")]
    [InlineData("no-unused-params")]
    [InlineData("no-unused-vars")]
    [InlineData("outputs-should-not-contain-secrets")]
    [InlineData("secure-secrets-in-params")]
    [InlineData("use-secure-value-for-secure-inputs")]
    [InlineData("use-stable-resource-identifiers")]
    [InlineData("what-if-short-circuiting")]
    public void Bicepconfig_makes_the_important_rules_errors(string rule)
    {
        var config = JsonNode.Parse(Repository.Read("infra", "bicepconfig.json"))!;
        Assert.Equal("error", (string?)config["analyzers"]?["core"]?["rules"]?[rule]?["level"]);
    }

    [Fact]
    public async Task Lint_with_the_repository_config_fails_on_a_violation()
    {
        // Proves the gate is live: a template with a hard-coded cloud URL and an unused parameter must fail the lint.
        var dir = Directory.CreateTempSubdirectory("resnest-lint-").FullName;
        try
        {
            var file = Path.Combine(dir, "bad.bicep");
            await File.WriteAllTextAsync(file, """
                param unused string
                output endpoint string = 'https://management.azure.com/'
                """);
            var result = await BicepFixture.BicepAsync(
                ["lint", file, "--config", Path.Combine(Repository.Infra, "bicepconfig.json")]);
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("no-unused-params", result.StandardError + result.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("no-hardcoded-env-urls", result.StandardError + result.StandardOutput, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Snapshots_are_produced_for_every_hosting_choice()
    {
        foreach (var hosting in BicepFixture.Hostings)
        {
            var run = bicep.SnapshotRuns[hosting];
            Assert.True(run.ExitCode == 0, $"{hosting}: {run.Describe()}");
            Assert.NotEmpty(bicep.SnapshotFor(hosting).Resources);
        }
    }

    [Fact]
    public void Main_reads_every_name_from_names_json()
    {
        var main = Repository.Read("infra", "main.bicep");
        Assert.Contains("loadJsonContent('names.json')", main, StringComparison.Ordinal);

        // No container, queue, table or setting name of names.json appears as a literal in any template.
        var literals = new[]
        {
            "containers.images", "containers.models", "containers.deadLetter", "queues.classify",
            "tables.results", "tables.labelIndex", "tables.batchJobs", "settings.imagesContainer",
            "settings.classifyQueue", "settings.modelBlobName", "settings.executionProvider", "connectionName",
        }.Select(Repository.Name).ToList();
        foreach (var file in bicep.BicepFiles)
        {
            var text = Repository.Read("infra", file);
            foreach (var literal in literals)
            {
                Assert.DoesNotContain($"'{literal}'", text, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Pipeline_embeds_the_same_names_json()
    {
        var project = Repository.Read("src", "ResNeSt.Pipeline", "ResNeSt.Pipeline.csproj");
        Assert.Contains("Include=\"../../infra/names.json\"", project, StringComparison.Ordinal);
        Assert.Contains("LogicalName=\"ResNeSt.Pipeline.names.json\"", project, StringComparison.Ordinal);
    }
}
