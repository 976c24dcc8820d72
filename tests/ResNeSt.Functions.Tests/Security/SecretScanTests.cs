using System.Security.Cryptography;
using ResNeSt.TestSupport;
using ResNeSt.Testing.Storage;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>No credentials in the repository or its sample settings; and proof that the scanner would see one.</summary>
public sealed class SecretScanTests
{
    private static readonly string s_root = TestImages.RepositoryRoot;

    [Fact]
    public void Repository_and_sample_settings_hold_no_keys_or_connection_strings_with_keys()
    {
        var files = SecretScanner.RepositoryFiles(s_root);

        // The settings people copy from are scanned too (tracked, so listed; asserted so a rename cannot drop them).
        Assert.Contains("src/ResNeSt.Functions/local.settings.example.json", files);
        Assert.Contains("infra/main.parameters.json", files);
        Assert.Contains(files, f => f.EndsWith(".bicep", StringComparison.Ordinal));
        Assert.Contains("src/ResNeSt.Testing/Storage/Azurite.cs", files); // holds the allowed Azurite key
        Assert.True(files.Count > 100, $"only {files.Count} files found to scan");

        var findings = SecretScanner.ScanFiles(s_root, files);
        Assert.True(findings.Count == 0, "Possible secrets:\n" + string.Join('\n', findings));
    }

    public static TheoryData<string, string> PlantedSecrets()
    {
        // Generated at run time so that the repository scan above never sees them in this file.
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        var guid = Guid.NewGuid().ToString();
        var sig = Uri.EscapeDataString(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var alnum = string.Concat(RandomNumberGenerator.GetItems("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".AsSpan(), 40));
        return new TheoryData<string, string>
        {
            { "storage-account-key", $"\"ImageStorage\": \"DefaultEndpointsProtocol=https;AccountName=prod;AccountKey={key};EndpointSuffix=core.windows.net\"" },
            { "shared-access-signature", $"BlobEndpoint=https://prod.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig={sig}" },
            { "shared-access-signature", $"curl 'https://prod.blob.core.windows.net/images/a.jpg?sv=2022-11-02&sr=b&sig={sig}'" },
            { "shared-access-key", $"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={key[..44]}" },
            { "instrumentation-key", $"APPLICATIONINSIGHTS_CONNECTION_STRING=InstrumentationKey={guid};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/" },
            { "base64-key-88", $"key: {key}" },
            { "private-key-pem", "-----BEGIN " + "RSA PRIVATE KEY-----" },
            { "private-key-pem", "-----BEGIN " + "PRIVATE KEY-----" },
            { "entra-client-secret", $"\"clientSecret\": \"abc8Q~{alnum[..34]}\"" },
            { "github-token", $"token = ghp_{alnum[..36]}" },
            { "aws-access-key", $"aws_access_key_id = AKIA{alnum.ToUpperInvariant()[..16]}" },
            { "function-key-in-url", $"https://app.azurewebsites.net/api/results?code={alnum}" },
        };
    }

    [Theory]
    [MemberData(nameof(PlantedSecrets))]
    public void A_planted_secret_is_found_and_not_echoed(string rule, string line)
    {
        var findings = SecretScanner.ScanText("planted.json", "{\n  \"ok\": 1,\n" + line + "\n}");
        var finding = Assert.Single(findings, f => f.Rule == rule);
        Assert.Equal(3, finding.Line);
        Assert.Contains("(redacted)", finding.Excerpt, StringComparison.Ordinal);
    }

    [Fact]
    public void A_planted_key_in_a_file_of_a_repository_fails_the_scan()
    {
        // The same path the repository test takes (file listing, binary filter, scan), on a scratch directory without git.
        var root = Directory.CreateTempSubdirectory("resnest-secret-scan-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "src"));
            Directory.CreateDirectory(Path.Combine(root, "bin"));
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
            File.WriteAllText(Path.Combine(root, "src", "local.settings.example.json"),
                $$"""{ "Values": { "ImageStorage": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey={{key}}" } }""");
            File.WriteAllText(Path.Combine(root, "src", "clean.json"), """{ "ImageStorage": "UseDevelopmentStorage=true" }""");
            File.WriteAllText(Path.Combine(root, "bin", "ignored.json"), $"AccountKey={key}"); // build output: not scanned
            File.WriteAllBytes(Path.Combine(root, "src", "blob.dat"), [0, 1, 2, .. System.Text.Encoding.ASCII.GetBytes($"AccountKey={key}")]);

            var files = SecretScanner.RepositoryFiles(root);
            Assert.Equal(["src/clean.json", "src/local.settings.example.json"], files);
            var findings = SecretScanner.ScanFiles(root, files);
            Assert.Equal(["base64-key-88", "storage-account-key"], findings.Select(f => f.Rule).Order());
            Assert.All(findings, f => Assert.Equal("src/local.settings.example.json", f.Path));
            Assert.All(findings, f => Assert.DoesNotContain(key, f.ToString(), StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Only_the_published_Azurite_key_is_allowed()
    {
        Assert.Empty(SecretScanner.ScanText("Azurite.cs", $"AccountKey={Azurite.AccountKey};"));
        Assert.Empty(SecretScanner.ScanText("Azurite.cs", $"const string Key = \"{Azurite.AccountKey}\";"));
        // A different key in the same place is not.
        var other = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        Assert.Equal(2, SecretScanner.ScanText("Azurite.cs", $"AccountKey={other};").Count); // the connection-string rule and the bare-key rule
        // Placeholders and npm integrity hashes are not keys.
        Assert.Empty(SecretScanner.ScanText("x", "AccountKey={AccountKey};AccountKey=<key>;AccountKey=${KEY}"));
        Assert.Empty(SecretScanner.ScanText("package-lock.json", $"\"integrity\": \"sha512-{other}\""));
    }
}
