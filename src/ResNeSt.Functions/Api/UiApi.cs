using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using ResNeSt.Functions.Http;
using ResNeSt.Functions.Ui;

namespace ResNeSt.Functions.Api;

/// <summary>
/// <c>GET /api/ui/</c>: the web page (HTML, CSS, JavaScript and an icon embedded in the app). Anonymous because it
/// holds no data: every data call the page makes carries the function key the user types in. The headers lock the
/// page down: a Content-Security-Policy that allows only this origin's own script, style and API calls (and blob:
/// images, for thumbnails fetched with the key), no framing, no referrer, no MIME sniffing.
/// </summary>
public static class UiApi
{
    public const string Name = "WebUi";

    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    [Function(Name)]
    public static IActionResult Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", Route = "ui/{*path}")] HttpRequest request,
        string? path)
    {
        ArgumentNullException.ThrowIfNull(request);
        var asset = UiAssets.Find(string.IsNullOrEmpty(path) ? "index.html" : path);
        if (asset is null)
        {
            return ApiResults.Problem(404, "Not found", "The page has no such file.", "not_found");
        }

        return new AssetResult(asset, request.Headers.IfNoneMatch.Contains(asset.ETag));
    }

    private sealed class AssetResult(UiAsset asset, bool notModified) : IActionResult
    {
        public async Task ExecuteResultAsync(ActionContext context)
        {
            var http = context.HttpContext;
            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            // Revalidated on every load (a deploy changes the files) and answered 304 while the ETag matches.
            headers.CacheControl = "no-cache";
            headers.ETag = asset.ETag;
            if (notModified)
            {
                http.Response.StatusCode = 304;
                return;
            }

            http.Response.StatusCode = 200;
            http.Response.ContentType = asset.ContentType;
            http.Response.ContentLength = asset.Content.Length;
            if (!HttpMethods.IsHead(http.Request.Method))
            {
                await http.Response.Body.WriteAsync(asset.Content, http.RequestAborted).ConfigureAwait(false);
            }
        }
    }
}
