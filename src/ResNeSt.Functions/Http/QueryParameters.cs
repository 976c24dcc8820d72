using Microsoft.AspNetCore.Http;

namespace ResNeSt.Functions.Http;

/// <summary>
/// The query parameters a route takes. Every route also takes <c>code</c>, the query form of the function key (the
/// host checks it before the function runs), so a caller that sends its key that way never gets "unknown parameter".
/// </summary>
public static class QueryParameters
{
    public const string FunctionKey = "code";

    /// <summary>
    /// The 400 for the first parameter of <paramref name="query"/> that is neither in <paramref name="allowed"/> nor
    /// <c>code</c>, its detail "'name' is not supported" followed by <paramref name="usage"/>; null when there is none.
    /// </summary>
    public static ProblemResult? RejectUnknown(IQueryCollection query, string usage, params string[] allowed)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(allowed);
        foreach (var key in query.Keys)
        {
            if (key != FunctionKey && Array.IndexOf(allowed, key) < 0)
            {
                return ApiResults.Problem(400, "Unknown query parameter", $"'{key}' is not supported{usage}", "invalid_query");
            }
        }

        return null;
    }
}
