namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>Counting in the host's log text.</summary>
internal static class LogSearch
{
    /// <summary>How often <paramref name="value"/> stands in <paramref name="text"/> (ordinal, not overlapping).</summary>
    public static int Occurrences(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
