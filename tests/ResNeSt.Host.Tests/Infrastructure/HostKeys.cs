using System.Security.Cryptography;

namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>
/// The host's keys, written where the host reads them (<c>AzureWebJobsSecretStorageType=files</c>,
/// <c>FUNCTIONS_SECRETS_PATH/host.json</c>, the layout run-host and the host itself use): master, the function key
/// <c>default</c> and the blob extension's system key <c>blobs_extension</c>, which Event Grid's webhook URL carries.
/// </summary>
internal sealed record HostKeys(string Master, string Function, string BlobsExtension)
{
    public static HostKeys Write(string secretsDirectory)
    {
        var keys = new HostKeys(NewKey(), NewKey(), NewKey());
        File.WriteAllText(Path.Combine(secretsDirectory, "host.json"), $$"""
            { "masterKey": { "name": "master", "value": "{{keys.Master}}", "encrypted": false },
              "functionKeys": [ { "name": "default", "value": "{{keys.Function}}", "encrypted": false } ],
              "systemKeys": [ { "name": "blobs_extension", "value": "{{keys.BlobsExtension}}", "encrypted": false } ],
              "hostName": "127.0.0.1", "instanceId": "00000000000000000000000000000000", "source": "runtime", "decryptionKeyId": "" }
            """);
        return keys;
    }

    /// <summary>Every key, for the check that none reaches a log.</summary>
    public IEnumerable<string> All => [Master, Function, BlobsExtension];

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(40)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
}
