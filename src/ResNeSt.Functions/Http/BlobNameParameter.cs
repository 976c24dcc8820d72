using Microsoft.AspNetCore.Http;

namespace ResNeSt.Functions.Http;

/// <summary>
/// The blob name a request asks about: in the path (<c>/api/results/a/b.jpg</c>, each segment percent-encoded) or in
/// the <c>blob</c> query parameter (<c>/api/results?blob=a%2Fb.jpg</c>, the whole name percent-encoded, as
/// <c>encodeURIComponent</c> does). Both reach the function as the exact name (the host decodes each once; 22 odd
/// names measured, docs/api.md), except that no path carries a <c>.</c> or <c>..</c> segment: clients and the host
/// resolve those before routing. The query carries any string, so the web page uses it.
/// </summary>
public static class BlobNameParameter
{
    public const string QueryName = "blob";

    /// <summary>The name from the route or the query; a problem when neither, both, or the query twice.</summary>
    public static ProblemResult? TryGet(HttpRequest request, string? routeValue, out string name)
    {
        ArgumentNullException.ThrowIfNull(request);
        name = "";
        bool inQuery = request.Query.TryGetValue(QueryName, out var values);
        if (inQuery && !string.IsNullOrEmpty(routeValue))
        {
            return ApiResults.Problem(400, "Blob named twice", "Name the blob in the path or in the 'blob' query parameter, not both.", "invalid_query");
        }

        if (inQuery && values.Count != 1)
        {
            return ApiResults.Problem(400, "Repeated query parameter", "Each query parameter may appear once.", "invalid_query");
        }

        name = (inQuery ? values[0] : routeValue) ?? "";
        return null;
    }
}
