using ResNeSt.Models.Architecture;

namespace ResNeSt.Models.Checkpoints;

/// <summary>A published weights file: its name under the download base URL and the first hex digits of its SHA-256.</summary>
/// <param name="VariantName">The variant the weights belong to.</param>
/// <param name="FileName">File name under the base URL, also the name in the cache folder.</param>
/// <param name="Sha256Prefix">Leading lower-case hex digits of the file's SHA-256 (PyTorch hub's <c>check_hash</c> convention).</param>
public sealed record WeightsFile(string VariantName, string FileName, string Sha256Prefix);

/// <summary>The official ResNeSt weights (torch.hub <c>zhanghang1989/ResNeSt</c>, release <c>weights_step1</c>).</summary>
public static class OfficialWeights
{
    public const string DefaultBaseUrl = "https://github.com/zhanghang1989/ResNeSt/releases/download/weights_step1/";

    /// <summary>Overrides <see cref="DefaultBaseUrl"/> (a mirror, or a loopback server in tests).</summary>
    public const string BaseUrlVariable = "RESNEST_WEIGHTS_URL";

    /// <summary>Pins the full SHA-256 the downloaded (or cached) file must have.</summary>
    public const string Sha256Variable = "RESNEST_WEIGHTS_SHA256";

    /// <summary>Overrides the cache folder (default <c>~/.cache/resnest</c>).</summary>
    public const string CacheVariable = "RESNEST_CACHE";

    public static IReadOnlyList<WeightsFile> All { get; } =
    [
        new("resnest50", "resnest50-528c19ca.pth", "528c19ca"),
        new("resnest101", "resnest101-22405ba7.pth", "22405ba7"),
        new("resnest200", "resnest200-75117900.pth", "75117900"),
        new("resnest269", "resnest269-0cc87c48.pth", "0cc87c48"),
    ];

    public static WeightsFile For(ResNeStVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        return All.FirstOrDefault(w => w.VariantName == variant.Name)
            ?? throw new ArgumentException($"There are no official weights for '{variant.Name}'; only for the official variants.", nameof(variant));
    }
}
