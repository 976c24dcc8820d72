namespace ResNeSt.Pipeline.Configuration;

/// <summary>
/// The storage connection named <c>ImageStorage</c>, in the two forms the Functions host understands: a connection
/// string (the setting itself, used with Azurite) or identity-based service URIs (<c>ImageStorage__blobServiceUri</c>,
/// <c>__queueServiceUri</c>, <c>__tableServiceUri</c>, optional <c>__clientId</c> of a user-assigned identity).
/// </summary>
public sealed record StorageConnection(
    string? ConnectionString,
    Uri? BlobServiceUri,
    Uri? QueueServiceUri,
    Uri? TableServiceUri,
    string? ManagedIdentityClientId)
{
    public bool UsesConnectionString => !string.IsNullOrWhiteSpace(ConnectionString);

    /// <summary>
    /// Whether this process runs on an Azure host that gives it a managed identity (App Service and Functions set
    /// <c>IDENTITY_ENDPOINT</c>, Container Apps too; <c>WEBSITE_INSTANCE_ID</c> marks App Service and Functions).
    /// </summary>
    public static bool RunsOnAzureHost(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return !string.IsNullOrEmpty(environment("IDENTITY_ENDPOINT")) || !string.IsNullOrEmpty(environment("WEBSITE_INSTANCE_ID"));
    }

    /// <summary>
    /// The credential for identity-based connections. On an Azure host it is the managed identity and nothing else
    /// (<see cref="Azure.Identity.DefaultAzureCredential"/> would also try environment secrets, workload identity and
    /// developer logins found on the machine, none of which production means to use); elsewhere (a developer running the
    /// worker against real storage) the developer's own login.
    /// </summary>
    public Azure.Core.TokenCredential CreateCredential(bool onAzureHost) => onAzureHost
        ? new Azure.Identity.ManagedIdentityCredential(ManagedIdentityClientId is { Length: > 0 } clientId
            ? Azure.Identity.ManagedIdentityId.FromUserAssignedClientId(clientId)
            : Azure.Identity.ManagedIdentityId.SystemAssigned)
        : new Azure.Identity.DefaultAzureCredential(new Azure.Identity.DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = ManagedIdentityClientId,
        });

    /// <summary>Reads the connection from configuration; throws naming the missing settings.</summary>
    public static StorageConnection FromConfiguration(Microsoft.Extensions.Configuration.IConfiguration configuration, string name)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var connectionString = configuration[name];
        var section = configuration.GetSection(name);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new StorageConnection(connectionString, null, null, null, null);
        }

        Uri? Read(string key)
        {
            var text = section[key];
            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            return Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.IsLoopback)
                ? uri
                : throw new InvalidOperationException($"Setting {name}__{key} = '{text}' is not an absolute https URI.");
        }

        var connection = new StorageConnection(
            null, Read("blobServiceUri"), Read("queueServiceUri"), Read("tableServiceUri"), section["clientId"]);
        if (connection.BlobServiceUri is null || connection.QueueServiceUri is null || connection.TableServiceUri is null)
        {
            throw new InvalidOperationException(
                $"Storage connection '{name}' is not configured: set the connection string '{name}' (Azurite: UseDevelopmentStorage=true) "
                + $"or {name}__blobServiceUri, {name}__queueServiceUri and {name}__tableServiceUri for a managed identity.");
        }

        return connection;
    }
}
