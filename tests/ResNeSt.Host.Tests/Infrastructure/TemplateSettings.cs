using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>
/// The app settings the compiled <c>infra/main.bicep</c> gives the Functions app, for one hosting choice with the
/// template's defaults: <c>bicep snapshot</c> predicts the deployment (conditions and names evaluated; values known
/// only at deployment time, such as the identity's client id, left as ARM expressions). This is what Azure passes the
/// app as environment variables, so the tests pass exactly these, never a hand-written copy.
/// </summary>
internal static class TemplateSettings
{
    public static readonly string[] Hostings = ["gpu-t4", "gpu-a100", "cpu-flex"];

    private static readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyDictionary<string, string>>>> s_cache = new(StringComparer.Ordinal);

    public static Task<IReadOnlyDictionary<string, string>> ForHostingAsync(string hosting) =>
        s_cache.GetOrAdd(hosting, h => new Lazy<Task<IReadOnlyDictionary<string, string>>>(() => SnapshotAsync(h))).Value;

    /// <summary>
    /// The settings for a run against Azurite: literal values as the template sets them; the identity-based storage
    /// connections (<c>X__blobServiceUri</c>, <c>X__credential</c>, ...) replaced by one Azurite connection string
    /// <c>X</c>, since there is no managed identity here; the identity's client id and Application Insights (deployment
    /// values, nothing local stands for them) dropped. Any other deployment-time value fails the test, so a new
    /// setting cannot slip past unseen.
    /// </summary>
    public static Dictionary<string, string> ForAzurite(IReadOnlyDictionary<string, string> template, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(template);
        string[] connectionParts = ["__blobServiceUri", "__queueServiceUri", "__tableServiceUri", "__credential", "__clientId", "__serviceUri"];
        string[] deploymentOnly = ["AZURE_CLIENT_ID", "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"];
        var local = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in template)
        {
            if (connectionParts.FirstOrDefault(p => name.EndsWith(p, StringComparison.Ordinal)) is { } part)
            {
                local[name[..^part.Length]] = connectionString;
            }
            else if (deploymentOnly.Contains(name, StringComparer.Ordinal))
            {
                continue;
            }
            else if (value.StartsWith('[') && value.EndsWith(']'))
            {
                throw new InvalidOperationException($"App setting {name} is a deployment-time value ({value}) the host tests do not know how to run locally.");
            }
            else
            {
                local[name] = value;
            }
        }

        return local;
    }

    private static async Task<IReadOnlyDictionary<string, string>> SnapshotAsync(string hosting)
    {
        var work = Directory.CreateTempSubdirectory("resnest-host-bicep-");
        try
        {
            var parameters = Path.Combine(work.FullName, $"{hosting}.bicepparam");
            var main = Path.GetRelativePath(work.FullName, Repository.MainBicep).Replace('\\', '/');
            // Only what azd itself supplies (environment name, location, the deploying user); everything else is the
            // template's default. No image yet: the first provision of a new environment.
            await File.WriteAllLinesAsync(parameters, [
                $"using '{main}'",
                "param environmentName = 'hosttests'",
                "param location = 'swedencentral'",
                $"param hosting = '{hosting}'",
                "param principalId = '11111111-2222-3333-4444-555555555555'",
            ]);
            var run = await ProcessRun.RunAsync(
                Repository.Bicep,
                ["snapshot", parameters, "--subscription-id", "00000000-0000-0000-0000-0000000000a1", "--tenant-id", "00000000-0000-0000-0000-0000000000b2",
                    "--location", "swedencentral", "--deployment-name", "azd-" + hosting],
                Repository.Root,
                TimeSpan.FromMinutes(3),
                new Dictionary<string, string?> { ["BICEP_TELEMETRY_ENABLED"] = "false", ["CI"] = "true" });
            var output = Path.ChangeExtension(parameters, ".snapshot.json");
            if (run.ExitCode != 0 || !File.Exists(output))
            {
                throw new InvalidOperationException($"bicep snapshot for {hosting} failed ({run.ExitCode}):\n{run.Output}");
            }

            var resources = JsonNode.Parse(await File.ReadAllTextAsync(output))!["predictedResources"]!.AsArray();
            bool gpu = hosting.StartsWith("gpu-", StringComparison.Ordinal);
            var app = resources.Single(r => string.Equals((string?)r!["type"], gpu ? "Microsoft.App/containerApps" : "Microsoft.Web/sites", StringComparison.OrdinalIgnoreCase))!;
            var entries = gpu
                ? app["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray()
                : app["properties"]!["siteConfig"]!["appSettings"]!.AsArray();
            // Container Apps pass secrets as secretRef; a setting without a literal value is a secret, named but unknown here.
            return entries.ToDictionary(e => (string)e!["name"]!, e => (string?)e!["value"] ?? $"[secretref:{(string?)e!["secretRef"]}]", StringComparer.Ordinal);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
