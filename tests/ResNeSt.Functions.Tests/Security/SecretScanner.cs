using System.Diagnostics;
using System.Text.RegularExpressions;
using ResNeSt.Testing.Storage;

namespace ResNeSt.Functions.Tests.Security;

/// <summary>One suspected secret: where, which rule, and a redacted excerpt (the value itself is never repeated).</summary>
public sealed record SecretFinding(string Path, int Line, string Rule, string Excerpt)
{
    public override string ToString() => $"{Path}:{Line}: {Rule}: {Excerpt}";
}

/// <summary>
/// Looks for credentials in text: storage account keys, SAS signatures, Service Bus/Event Hubs keys, Application
/// Insights instrumentation keys, bare 88-character base64 keys, PEM private keys, Entra client secrets, GitHub and AWS
/// tokens, function keys in URLs. The one value allowed is Azurite's development key (<see cref="Azurite.AccountKey"/>):
/// Microsoft publishes it in the Azurite and storage emulator documentation, it is identical on every machine, and it
/// opens only a local emulator, so it protects nothing and must be in the code that starts Azurite.
/// </summary>
public static partial class SecretScanner
{
    private static readonly (string Rule, Regex Pattern, int ValueGroup)[] s_rules =
    [
        ("storage-account-key", AccountKey(), 1),
        ("shared-access-signature", Sas(), 1),
        ("shared-access-key", SharedAccessKey(), 1),
        ("instrumentation-key", InstrumentationKey(), 1),
        ("base64-key-88", Base64Key(), 0),
        ("private-key-pem", PrivateKey(), 0),
        ("entra-client-secret", EntraSecret(), 0),
        ("github-token", GitHubToken(), 0),
        ("aws-access-key", AwsKey(), 0),
        ("function-key-in-url", FunctionKey(), 1),
    ];

    private static readonly HashSet<string> s_binaryExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".ico", ".onnx", ".pth", ".pt", ".zip", ".gz", ".tgz", ".pdf",
        ".dll", ".exe", ".so", ".pdb", ".nupkg", ".woff", ".woff2", ".ttf", ".bin",
    };

    /// <summary>The allowed well-known values (see the class summary).</summary>
    public static IReadOnlySet<string> AllowedValues { get; } = new HashSet<string>(StringComparer.Ordinal) { Azurite.AccountKey, Guid.Empty.ToString() }; // the nil GUID stands in for an instrumentation key in tests

    /// <summary>Every finding in <paramref name="text"/>, reported under <paramref name="path"/>.</summary>
    public static IReadOnlyList<SecretFinding> ScanText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var findings = new List<SecretFinding>();
        int lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            foreach (var (rule, pattern, group) in s_rules)
            {
                foreach (Match match in pattern.Matches(line))
                {
                    var value = match.Groups[group].Value;
                    if (AllowedValues.Contains(value))
                    {
                        continue;
                    }

                    findings.Add(new SecretFinding(path, lineNumber, rule, Redact(line, match)));
                }
            }
        }

        return findings;
    }

    /// <summary>
    /// The files to scan under <paramref name="root"/>: what git tracks plus untracked files it does not ignore, when git
    /// and a repository are there; otherwise every file outside build output, dependencies and VCS folders.
    /// Binary files (by extension, or a NUL byte in the first 8 KB) are left out.
    /// </summary>
    public static IReadOnlyList<string> RepositoryFiles(string root)
    {
        var files = GitFiles(root) ?? WalkFiles(root);
        return files.Where(f => File.Exists(Path.Combine(root, f)) && !IsBinary(Path.Combine(root, f))).Order(StringComparer.Ordinal).ToArray();
    }

    public static IReadOnlyList<SecretFinding> ScanFiles(string root, IEnumerable<string> relativePaths) =>
        relativePaths.SelectMany(path => ScanText(path, File.ReadAllText(Path.Combine(root, path)))).ToArray();

    private static List<string>? GitFiles(string root)
    {
        try
        {
            var start = new ProcessStartInfo("git", ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var git = Process.Start(start);
            if (git is null)
            {
                return null;
            }

            var output = git.StandardOutput.ReadToEnd();
            git.StandardError.ReadToEnd();
            git.WaitForExit();
            return git.ExitCode == 0 ? output.Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no git on this machine
        }
    }

    private static List<string> WalkFiles(string root)
    {
        string[] skipped = ["bin", "obj", "node_modules", ".git", "TestResults", ".cache", "artifacts"];
        var result = new List<string>();
        var pending = new Stack<string>([root]);
        while (pending.TryPop(out var dir))
        {
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                if (!skipped.Contains(Path.GetFileName(sub), StringComparer.Ordinal))
                {
                    pending.Push(sub);
                }
            }

            result.AddRange(Directory.EnumerateFiles(dir)
                .Where(f => Path.GetFileName(f) != "local.settings.json") // a developer's own, git-ignored
                .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')));
        }

        return result;
    }

    private static bool IsBinary(string path)
    {
        if (s_binaryExtensions.Contains(Path.GetExtension(path)))
        {
            return true;
        }

        using var stream = File.OpenRead(path);
        var head = new byte[8192];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return head.AsSpan(0, read).Contains((byte)0);
    }

    private static string Redact(string line, Match match)
    {
        var shown = match.Value.Length <= 12 ? "***" : match.Value[..8] + "…(redacted)";
        var start = Math.Max(0, match.Index - 20);
        return (line[start..match.Index] + shown).Trim();
    }

    // A key-like value: long base64 (placeholders such as {AccountKey}, <key> or ${KEY} do not match).
    [GeneratedRegex(@"AccountKey\s*=\s*([A-Za-z0-9+/]{20,}={0,2})", RegexOptions.IgnoreCase)]
    private static partial Regex AccountKey();

    [GeneratedRegex(@"(?:SharedAccessSignature\s*=\s*|[?&;]sig=)([A-Za-z0-9%+/=]{16,})", RegexOptions.IgnoreCase)]
    private static partial Regex Sas();

    [GeneratedRegex(@"SharedAccessKey\s*=\s*([A-Za-z0-9+/]{20,}={0,2})", RegexOptions.IgnoreCase)]
    private static partial Regex SharedAccessKey();

    [GeneratedRegex(@"InstrumentationKey\s*=\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", RegexOptions.IgnoreCase)]
    private static partial Regex InstrumentationKey();

    // Storage account keys are 64 random bytes: 88 base64 characters ending in "==". npm's "sha512-…" integrity
    // hashes have the same shape and are public.
    [GeneratedRegex(@"(?<![A-Za-z0-9+/])(?<!sha512-)[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])")]
    private static partial Regex Base64Key();

    [GeneratedRegex(@"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])")]
    private static partial Regex EntraSecret();

    [GeneratedRegex(@"\bgh[pousr]_[A-Za-z0-9]{36}\b")]
    private static partial Regex GitHubToken();

    [GeneratedRegex(@"\bAKIA[0-9A-Z]{16}\b")]
    private static partial Regex AwsKey();

    [GeneratedRegex(@"[?&]code=([A-Za-z0-9_\-]{30,}={0,2})")]
    private static partial Regex FunctionKey();
}
