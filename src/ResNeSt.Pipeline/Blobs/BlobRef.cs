namespace ResNeSt.Pipeline.Blobs;

/// <summary>
/// One blob version as the pipeline sees it: container, name and (once fetched) the ETag that identifies the bytes.
/// Two events for the same <see cref="BlobRef"/> are the same work; a new ETag is new work.
/// </summary>
public sealed record BlobRef(string Container, string Name, string? ETag = null)
{
    /// <summary>The path a user sees: <c>container/name</c>.</summary>
    public string Path => $"{Container}/{Name}";

    public BlobRef WithETag(string etag) => this with { ETag = etag };

    public override string ToString() => ETag is null ? Path : $"{Path}@{ETag}";
}
