using System.Globalization;
using System.Text.Json.Nodes;

namespace ResNeSt.Infra.Tests.Infrastructure;

/// <summary>
/// Runs the Bicep CLI once per test run: builds and lints every .bicep file under infra/, and snapshots main.bicep for
/// each hosting choice. Each step takes seconds, so the results are shared by all tests of the collection.
/// </summary>
public sealed class BicepFixture : IAsyncLifetime
{
    public const string SubscriptionId = "00000000-0000-0000-0000-0000000000a1";
    public const string TenantId = "00000000-0000-0000-0000-0000000000b2";
    public const string EnvironmentName = "ci";
    public const string Location = "swedencentral";
    public const string DeployingUser = "11111111-2222-3333-4444-555555555555";
    public const string ImageName = "crexample.azurecr.io/resnest-functions/functions:azd-1";
    public static readonly string[] Hostings = ["gpu-t4", "gpu-a100", "cpu-flex"];

    /// <summary>Snapshot key: gpu-t4 as the first `azd provision` creates it, before any image exists.</summary>
    public const string FirstProvision = "gpu-t4-first-provision";

    /// <summary>Run key: gpu-t4 in a region without serverless GPUs.</summary>
    public const string GpuOutsideGpuRegions = "gpu-t4-in-eastus";

    /// <summary>Run key: cpu-flex in that same region.</summary>
    public const string FlexOutsideGpuRegions = "cpu-flex-in-eastus";

    public const string RegionWithoutServerlessGpus = "eastus";

    private readonly string _work = Directory.CreateTempSubdirectory("resnest-bicep-").FullName;
    private readonly Dictionary<string, Snapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonNode> _compiled = new(StringComparer.Ordinal);

    internal ProcessResult Build { get; private set; } = null!;

    internal ProcessResult Lint { get; private set; } = null!;

    /// <summary>Every .bicep file under infra/, relative to infra/.</summary>
    internal IReadOnlyList<string> BicepFiles { get; } = Directory
        .EnumerateFiles(Repository.Infra, "*.bicep", SearchOption.AllDirectories)
        .Select(f => Path.GetRelativePath(Repository.Infra, f))
        .Order(StringComparer.Ordinal)
        .ToList();

    /// <summary>Compiled ARM JSON by .bicep path relative to infra/.</summary>
    internal IReadOnlyDictionary<string, JsonNode> Compiled => _compiled;

    internal Snapshot SnapshotFor(string hosting) =>
        _snapshots.TryGetValue(hosting, out var snapshot)
            ? snapshot
            : throw new Xunit.Sdk.XunitException($"No snapshot for {hosting}; see the Snapshots_are_produced test output.");

    internal IReadOnlyDictionary<string, ProcessResult> SnapshotRuns { get; private set; } = new Dictionary<string, ProcessResult>();

    public async Task InitializeAsync()
    {
        var outDir = Path.Combine(_work, "arm");
        Build = await BicepAsync(["build", "--pattern", "infra/**/*.bicep", "--outdir", outDir]);
        foreach (var file in BicepFiles)
        {
            var json = Path.Combine(outDir, Path.ChangeExtension(file, ".json"));
            if (File.Exists(json))
            {
                _compiled[file] = JsonNode.Parse(await File.ReadAllTextAsync(json))!;
            }
        }

        Lint = await BicepAsync(["lint", "--pattern", "infra/**/*.bicep"]);

        var runs = new Dictionary<string, ProcessResult>(StringComparer.Ordinal);
        foreach (var hosting in Hostings)
        {
            runs[hosting] = await SnapshotAsync(hosting, hosting, ImageName, Location);
        }

        // The first `azd provision` of an environment: no image has been built yet, azd passes an empty name.
        runs[FirstProvision] = await SnapshotAsync(FirstProvision, "gpu-t4", string.Empty, Location);
        // A GPU hosting in a region without serverless GPUs: must fail before anything is created.
        runs[GpuOutsideGpuRegions] = await SnapshotAsync(GpuOutsideGpuRegions, "gpu-t4", ImageName, RegionWithoutServerlessGpus);
        runs[FlexOutsideGpuRegions] = await SnapshotAsync(FlexOutsideGpuRegions, "cpu-flex", ImageName, RegionWithoutServerlessGpus);
        SnapshotRuns = runs;
    }

    private async Task<ProcessResult> SnapshotAsync(string key, string hosting, string imageName, string location)
    {
        // bicep insists on a relative `using` path; the parameters file lives in a temp directory.
        var paramsFile = Path.Combine(_work, $"{key}.bicepparam");
        var main = Path.GetRelativePath(_work, Repository.MainBicep).Replace('\\', '/');
        await File.WriteAllTextAsync(paramsFile, string.Join('\n',
            $"using '{main}'",
            $"param environmentName = '{EnvironmentName}'",
            $"param location = '{location}'",
            $"param hosting = '{hosting}'",
            $"param functionsImageName = '{imageName}'",
            $"param principalId = '{DeployingUser}'",
            string.Empty));
        var run = await BicepAsync([
            "snapshot", paramsFile, "--subscription-id", SubscriptionId, "--tenant-id", TenantId,
            "--location", location, "--deployment-name", "azd-" + hosting,
        ]);
        var output = Path.ChangeExtension(paramsFile, ".snapshot.json");
        if (File.Exists(output))
        {
            _snapshots[key] = new Snapshot(key, JsonNode.Parse(await File.ReadAllTextAsync(output))!);
        }

        return run;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_work, recursive: true);
        return Task.CompletedTask;
    }

    internal static Task<ProcessResult> BicepAsync(IEnumerable<string> arguments) =>
        ProcessRunner.RunAsync(
            Repository.Bicep,
            arguments,
            Repository.Root,
            new Dictionary<string, string?>
            {
                // Offline and quiet: no telemetry, no version check against the network.
                ["BICEP_TELEMETRY_ENABLED"] = "false",
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["CI"] = "true",
            },
            TimeSpan.FromMinutes(3));

    internal static string RoleDefinitionId(string guid) =>
        string.Create(CultureInfo.InvariantCulture, $"/subscriptions/{SubscriptionId}/providers/Microsoft.Authorization/roleDefinitions/{guid}");
}

[CollectionDefinition(Name)]
public sealed class BicepRun : ICollectionFixture<BicepFixture>
{
    public const string Name = "Bicep";
}
