using System.Text;

namespace ResNeSt.Pipeline.Diagnostics;

/// <summary>
/// Blob names come from uploaders: strip control characters (newlines forge log lines) and cap the length
/// before a name reaches a log.
/// </summary>
public static class LogSanitizer
{
    private const int MaxLength = 256;

    public static string Clean(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        bool clean = value.Length <= MaxLength;
        foreach (char c in value)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                clean = false;
                break;
            }
        }

        if (clean)
        {
            return value;
        }

        var builder = new StringBuilder(Math.Min(value.Length, MaxLength + 1));
        foreach (char c in value)
        {
            if (builder.Length == MaxLength)
            {
                builder.Append('…');
                break;
            }

            if (!char.IsControl(c) && c is not '\u2028' and not '\u2029')
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
