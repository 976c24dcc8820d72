using System.Collections.Frozen;
using System.Security.Cryptography;

namespace ResNeSt.Functions.Ui;

/// <summary>One file of the page: its bytes (embedded in the app), its content type and a strong ETag of its content.</summary>
public sealed record UiAsset(string Path, string ContentType, byte[] Content, string ETag);

/// <summary>
/// The page's files, embedded in the assembly at build time (nothing is read from disk or fetched at run time). Only
/// the names listed here are served; any other path is a 404.
/// </summary>
public static class UiAssets
{
    private static readonly (string Path, string Resource, string ContentType)[] s_files =
    [
        ("index.html", "index.html", "text/html; charset=utf-8"),
        ("app.js", "app.js", "text/javascript; charset=utf-8"),
        ("app.css", "app.css", "text/css; charset=utf-8"),
        ("icon.svg", "icon.svg", "image/svg+xml"),
    ];

    private static readonly Lazy<FrozenDictionary<string, UiAsset>> s_assets = new(Load);

    public static UiAsset? Find(string path) => s_assets.Value.GetValueOrDefault(path);

    public static IEnumerable<UiAsset> All => s_assets.Value.Values;

    private static FrozenDictionary<string, UiAsset> Load()
    {
        var assembly = typeof(UiAssets).Assembly;
        var assets = new Dictionary<string, UiAsset>(StringComparer.Ordinal);
        foreach (var (path, resource, contentType) in s_files)
        {
            using var stream = assembly.GetManifestResourceStream("ResNeSt.Functions.Ui." + resource)
                ?? throw new InvalidOperationException($"The page file '{resource}' is not embedded in the app.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..32] + "\"";
            assets[path] = new UiAsset(path, contentType, content, etag);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
