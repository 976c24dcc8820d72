using System.Security.Cryptography;
using System.Text;
using ResNeSt.Pipeline.Blobs;

namespace ResNeSt.Pipeline.Results;

/// <summary>
/// Table Storage key design. Keys may not contain <c>/ \ # ?</c> or control characters and are limited to 1 KiB,
/// while blob names may hold any of those and be 1,024 characters long; and one partition sustains only about
/// 2,000 writes/s. So a result lives at (hash bucket of the blob path, escaped blob path) and a path whose escaped
/// form is too long is keyed by its SHA-256, the full name staying in a property.
/// </summary>
public static class TableKeys
{
    /// <summary>Longest escaped key used verbatim: 1 KiB of UTF-16, leaving room for prefixes in the label index.</summary>
    public const int MaxVerbatimKeyLength = 400;

    /// <summary>Prefix of a hashed key. <c>~</c> is always escaped by <see cref="Escape"/>, so no verbatim key starts with it.</summary>
    public const string HashedKeyPrefix = "~sha256~";

    /// <summary>Hex digits of the path hash used as the partition: 256 buckets spread the write load.</summary>
    private const int BucketHexDigits = 2;

    /// <summary>The point-lookup key of the result for one blob (any version).</summary>
    public static (string PartitionKey, string RowKey) ForResult(string container, string blobName)
    {
        var path = $"{container}/{blobName}";
        var hash = Sha256Hex(path);
        var escaped = Escape(path);
        var rowKey = escaped.Length <= MaxVerbatimKeyLength ? escaped : HashedKeyPrefix + hash;
        return (hash[..BucketHexDigits], rowKey);
    }

    public static (string PartitionKey, string RowKey) ForResult(BlobRef blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        return ForResult(blob.Container, blob.Name);
    }

    /// <summary>The label index partition: all results whose top-1 is this label.</summary>
    public static string ForLabel(string label) => Escape(label);

    /// <summary>
    /// A label index row key: inverted ticks first so that a plain ascending range scan of one partition yields the
    /// newest results first, then the result's keys to make the row unique and point back to it.
    /// </summary>
    public static string ForLabelIndexRow(DateTimeOffset processedAt, string resultPartitionKey, string resultRowKey) =>
        $"{DateTimeOffset.MaxValue.UtcTicks - processedAt.UtcTicks:D19}_{resultPartitionKey}_{resultRowKey}";

    /// <summary>A batch job item row: one per blob, so that a redelivered message overwrites rather than double counts.</summary>
    public static string ForBatchItem(string container, string blobName)
    {
        var (partition, row) = ForResult(container, blobName);
        return $"item_{partition}_{row}";
    }

    /// <summary>
    /// Percent-escapes (UTF-8) every character Table keys forbid plus <c>%</c> and <c>~</c>, keeping everything else,
    /// so keys stay readable in Storage Explorer and distinct names never share a key.
    /// </summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.AsSpan().ContainsAny(s_needsEscape) && !HasControl(value))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (!NeedsEscape(c))
            {
                builder.Append(c);
                continue;
            }

            // Only ASCII and C1 controls are escaped; all are single UTF-16 units.
            int written = Encoding.UTF8.GetBytes(value.AsSpan(i, 1), utf8);
            for (int b = 0; b < written; b++)
            {
                builder.Append('%').Append(utf8[b].ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    public static string Sha256Hex(string value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private static readonly System.Buffers.SearchValues<char> s_needsEscape = System.Buffers.SearchValues.Create("/\\#?%~");

    private static bool NeedsEscape(char c) => s_needsEscape.Contains(c) || IsForbiddenControl(c);

    private static bool IsForbiddenControl(char c) => c is <= '\u001F' or >= '\u007F' and <= '\u009F';

    private static bool HasControl(string value)
    {
        foreach (char c in value)
        {
            if (IsForbiddenControl(c))
            {
                return true;
            }
        }

        return false;
    }
}
