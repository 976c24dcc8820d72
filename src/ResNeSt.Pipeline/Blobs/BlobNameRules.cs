namespace ResNeSt.Pipeline.Blobs;

/// <summary>
/// Blob names and name prefixes that come from callers (batch requests, queue messages). The
/// container is always the configured images container — no input selects a container, an account or a URL — and a
/// name must not look like anything else: no path traversal (<c>..</c> or <c>.</c> segments, also percent-encoded,
/// also double-encoded), no backslashes, no leading slash, no absolute URL, no control characters.
/// </summary>
public static class BlobNameRules
{
    /// <summary>Azure's limit on a blob name's length.</summary>
    public const int MaxLength = 1024;

    // Percent-decoding is repeated so that %252e%252e (which a second decoder would turn into "..") is caught too.
    private const int MaxDecodingRounds = 3;

    /// <summary>Null when <paramref name="value"/> is an acceptable blob name (or, with <paramref name="isPrefix"/>, prefix); otherwise why not.</summary>
    public static string? Check(string? value, bool isPrefix = false)
    {
        if (value is null)
        {
            return "is missing";
        }

        if (value.Length == 0)
        {
            return isPrefix ? null : "is empty";
        }

        if (value.Length > MaxLength)
        {
            return $"is longer than {MaxLength} characters";
        }

        var current = value;
        for (int round = 0; round <= MaxDecodingRounds; round++)
        {
            if (CheckDecoded(current) is { } problem)
            {
                return problem;
            }

            if (!current.Contains('%', StringComparison.Ordinal))
            {
                return null;
            }

            string decoded;
            try
            {
                decoded = Uri.UnescapeDataString(current);
            }
            catch (UriFormatException)
            {
                return "has invalid percent-encoding";
            }

            if (decoded == current)
            {
                return null;
            }

            current = decoded;
        }

        return "is percent-encoded too many times";
    }

    /// <summary>
    /// Null when <paramref name="name"/> can be the name of a stored blob: present, not empty, at most
    /// <see cref="MaxLength"/> characters. Nothing else is asked of a name that is only looked up as a key (the results
    /// table escapes every character its keys forbid, and no lookup can leave the table), so any blob the trigger
    /// classified can be asked for by name; where a name becomes a request URL, <see cref="BlobAddress"/> checks it.
    /// </summary>
    public static string? CheckStored(string? name) => name switch
    {
        null => "is missing",
        { Length: 0 } => "is empty",
        { Length: > MaxLength } => $"is longer than {MaxLength} characters",
        _ => null,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the problem.</summary>
    public static void Validate(string? value, string parameterName, bool isPrefix = false)
    {
        if (Check(value, isPrefix) is { } problem)
        {
            throw new ArgumentException($"The blob {(isPrefix ? "prefix" : "name")} {problem}.", parameterName);
        }
    }

    private static string? CheckDecoded(string value)
    {
        foreach (char c in value)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                return "contains control characters";
            }

            if (c == '\\')
            {
                return "contains a backslash";
            }
        }

        if (value.StartsWith('/'))
        {
            return "starts with a slash";
        }

        if (value.Contains("://", StringComparison.Ordinal) || LooksLikeAbsoluteUri(value))
        {
            return "is a URL";
        }

        foreach (var segment in value.Split('/'))
        {
            if (segment is "." or "..")
            {
                return "contains a '.' or '..' path segment";
            }
        }

        return null;
    }

    // "https:", "file:", "data:" and friends, with or without slashes; an ordinary name such as "cat:1.jpg" stays valid.
    private static bool LooksLikeAbsoluteUri(string value)
    {
        int colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        var scheme = value[..colon];
        return scheme.Equals(Uri.UriSchemeHttp, StringComparison.OrdinalIgnoreCase)
            || scheme.Equals(Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase)
            || scheme.Equals(Uri.UriSchemeFile, StringComparison.OrdinalIgnoreCase)
            || scheme.Equals(Uri.UriSchemeFtp, StringComparison.OrdinalIgnoreCase)
            || scheme.Equals("data", StringComparison.OrdinalIgnoreCase)
            || scheme.Equals("javascript", StringComparison.OrdinalIgnoreCase)
            || (scheme.Length == 1 && char.IsAsciiLetter(scheme[0])); // C:\… or C:/…
    }
}
