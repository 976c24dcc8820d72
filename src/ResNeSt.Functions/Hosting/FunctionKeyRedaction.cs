using System.Text.RegularExpressions;

namespace ResNeSt.Functions.Hosting;

/// <summary>
/// Removes the value of a <c>code</c> query parameter (a function or system key, as the host accepts it in a URL)
/// from text bound for telemetry. The worker's ASP.NET Core logs "Request starting … GET http://…/api/…?code=KEY"
/// at Information, and exported logs reach Application Insights, where anyone who can read the logs could replay it.
/// </summary>
public static partial class FunctionKeyRedaction
{
    public const string Redacted = "[redacted]";

    /// <summary><paramref name="text"/> with every <c>code=</c> query value replaced; the same string when there is none.</summary>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Contains("code=", StringComparison.OrdinalIgnoreCase) ? CodeValue().Replace(text, "${name}" + Redacted) : text;
    }

    /// <summary>True when <paramref name="text"/> holds a <c>code=</c> query value.</summary>
    public static bool HasKey(string? text) => text is not null && text.Contains("code=", StringComparison.OrdinalIgnoreCase) && CodeValue().IsMatch(text);

    // "code=…" at the start (a bare query, as url.query holds it), after "?", "&" or ";" (also percent-encoded, as in
    // an encoded URL), up to the next separator; the key alphabet is URL-safe, but anything up to a separator is taken.
    [GeneratedRegex(@"(?<name>(?:^|[?&;]|%3F|%26)code=)(?!\[redacted\])[^&#\s""'<>]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CodeValue();
}
