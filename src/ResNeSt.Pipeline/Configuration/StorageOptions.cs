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
