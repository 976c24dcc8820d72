using System.Text;
using ResNeSt.Pipeline.Blobs;

namespace ResNeSt.Functions.Uploads;

/// <summary>
/// The blob name an upload gets: <c>uploads/yyyy/MM/dd/&lt;guid&gt;-&lt;name&gt;</c>. The caller's file name is a
/// hint for people, never a path: it keeps ASCII letters, digits, '.', '-' and '_' (anything else becomes '-'), loses
/// any directories, leading dots and its length beyond <see cref="MaxOriginalLength"/>, and the extension is the one
/// the content proved. The guid makes every upload its own blob, so no upload overwrites another.
/// </summary>
public static class UploadNames
{
    public const string Prefix = "uploads/";

    public const int MaxOriginalLength = 60;

    public static string Create(string? originalName, string format, DateTimeOffset now, Guid id)
    {
        ArgumentException.ThrowIfNullOrEmpty(format);
        var stem = Sanitize(originalName);
        var name = $"{Prefix}{now.UtcDateTime:yyyy'/'MM'/'dd}/{id:N}-{stem}.{Extension(format)}";
        BlobNameRules.Validate(name, nameof(originalName)); // by construction; checked so a change here cannot slip
        return name;
    }

    /// <summary>The file name's stem (no directories, no extension) reduced to safe characters; "image" when nothing is left.</summary>
    public static string Sanitize(string? originalName)
    {
        if (string.IsNullOrWhiteSpace(originalName))
        {
            return "image";
        }

        // Both separators: a Windows browser may send "C:\Users\me\cat.jpg".
        var file = originalName[(originalName.LastIndexOfAny(['/', '\\']) + 1)..];
        int dot = file.LastIndexOf('.');
        if (dot > 0)
        {
            file = file[..dot];
        }

        var builder = new StringBuilder(Math.Min(file.Length, MaxOriginalLength));
        foreach (char c in file)
        {
            if (builder.Length == MaxOriginalLength)
            {
                break;
            }

            bool safe = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';
            char next = safe ? c : '-';
            // No runs of '-' or '.', no leading '.' or '-': nothing that reads as a hidden file, an option or a "..".
            if ((next is '-' or '.') && (builder.Length == 0 || builder[^1] is '-' or '.'))
            {
                continue;
            }

            builder.Append(next);
        }

        var result = builder.ToString().TrimEnd('-', '.');
        return result.Length == 0 ? "image" : result;
    }

    private static string Extension(string format) => format.ToLowerInvariant() switch
    {
        "jpeg" => "jpg",
        var other => other,
    };
}
