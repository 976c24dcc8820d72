using Azure.Storage.Blobs;

namespace ResNeSt.Pipeline.Blobs;

/// <summary>
/// Whether a blob name, put into a request URL by the storage SDK, addresses exactly that blob of that container.
/// The SDK escapes a name segment by segment and keeps its slashes, so a backslash, a control character, <c>c:</c>,
/// <c>%2e%2e</c>, <c>?</c> or <c>#</c> are all sent escaped and address the blob of that name; what a URL does resolve
/// is a <c>.</c> or <c>..</c> segment (<c>../models/x</c> would leave the container). The check asks the URL itself:
/// the name read back from the client's URL must be the name and the container the container.
/// </summary>
public static class BlobAddress
{
    /// <summary>Null when <paramref name="name"/> addresses that blob of <paramref name="container"/>; otherwise why not.</summary>
    public static string? Check(BlobContainerClient container, string? name)
    {
        ArgumentNullException.ThrowIfNull(container);
        if (BlobNameRules.CheckStored(name) is { } problem)
        {
            return problem;
        }

        var parsed = new BlobUriBuilder(container.GetBlobClient(name).Uri);
        return string.Equals(parsed.BlobContainerName, container.Name, StringComparison.Ordinal) && string.Equals(parsed.BlobName, name, StringComparison.Ordinal)
            ? null
            : "would address another blob once put in a URL (a '.' or '..' segment, or a leading '/')";
    }
}
