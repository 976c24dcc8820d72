using System.Text;

namespace ResNeSt.Pipeline.Results;

/// <summary>Continuation tokens travel as opaque base64url so that clients do not build table tokens themselves.</summary>
public static class ContinuationTokenCodec
{
    private const int MaxLength = 4096;

    public static string Encode(string tableToken)
    {
        ArgumentNullException.ThrowIfNull(tableToken);
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(tableToken)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Throws <see cref="FormatException"/> for anything <see cref="Encode"/> cannot have produced.</summary>
    public static string Decode(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length is 0 or > MaxLength)
        {
            throw new FormatException("The continuation token is empty or too long.");
        }

        var base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(base64));
        }
        catch (Exception ex) when (ex is FormatException or DecoderFallbackException)
        {
            throw new FormatException("The continuation token is not one this API issued.", ex);
        }

        // The table token is "<next partition key> <next row key>"; keys contain no control characters.
        if (decoded.Split(' ').Length != 2 || decoded.Any(char.IsControl))
        {
            throw new FormatException("The continuation token is not one this API issued.");
        }

        return decoded;
    }
}
