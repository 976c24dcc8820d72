using System.Text.Json.Nodes;

namespace ResNeSt.Infra.Tests.Infrastructure;

/// <summary>
/// What `bicep snapshot` predicts a deployment of main.bicep creates for one set of parameters: conditions,
/// loops, names and ids evaluated; values known only at deployment time (reference()) left as ARM expressions.
/// </summary>
internal sealed class Snapshot(string hosting, JsonNode document)
{
    public string Hosting { get; } = hosting;

    public bool IsGpu => Hosting.StartsWith("gpu-", StringComparison.Ordinal);

    public string Json { get; } = document.ToJsonString();

    public IReadOnlyList<JsonObject> Resources { get; } =
        document["predictedResources"]!.AsArray().Select(r => r!.AsObject()).ToList();

    public IEnumerable<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    public JsonObject Single(string type)
    {
        var matches = OfType(type).ToList();
        Assert.True(matches.Count == 1, $"{Hosting}: expected one {type}, found {matches.Count}.");
        return matches[0];
    }

    public JsonObject ById(string id) =>
        Resources.SingleOrDefault(r => string.Equals((string?)r["id"], id, StringComparison.OrdinalIgnoreCase))
        ?? throw new Xunit.Sdk.XunitException($"{Hosting}: no resource with id {id}.");

    /// <summary>The Functions app (Container App or Flex site).</summary>
    public JsonObject FunctionApp => IsGpu ? Single("Microsoft.App/containerApps") : Single("Microsoft.Web/sites");

    /// <summary>App settings of the Functions app, name to value (ARM expression text for deployment-time values).</summary>
    public IReadOnlyDictionary<string, string> AppSettings
    {
        get
        {
            var entries = IsGpu
                ? FunctionApp["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray()
                : FunctionApp["properties"]!["siteConfig"]!["appSettings"]!.AsArray();
            return entries.ToDictionary(e => (string)e!["name"]!, e => (string)e!["value"]!, StringComparer.Ordinal);
        }
    }

    public IEnumerable<JsonObject> StorageAccounts => OfType("Microsoft.Storage/storageAccounts");

    public static string NameOf(JsonObject resource) => (string)resource["name"]!;

    public static string IdOf(JsonObject resource) => (string)resource["id"]!;

    public override string ToString() => Hosting;
}
