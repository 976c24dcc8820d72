using System.Globalization;
using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Hook;

/// <summary>
/// Stand-ins for `az` and `curl` on PATH (Azure cannot be reached from tests): each records its arguments and answers
/// as the real tool would for this hook — a 200 from the app, the system key after a few tries.
/// </summary>
internal sealed class FakeAzureCli : IDisposable
{
    public const string SystemKey = "fake-blobs-extension-key";
    private const char Separator = '\u001f';

    private readonly string directory = Directory.CreateTempSubdirectory("resnest-fake-az-").FullName;

    public FakeAzureCli(int keyMissingCalls = 0)
    {
        KeyMissingCalls = keyMissingCalls;
        Write("az", """
            #!/usr/bin/env bash
            (IFS=$'\x1f'; printf 'az\x1f%s\n' "$*") >> "$FAKE_LOG"
            if [ "$1 $2 $3" = "containerapp function keys" ] || [ "$1 $2" = "functionapp keys" ]; then
              calls=$(( $(cat "$FAKE_KEY_CALLS" 2>/dev/null || echo 0) + 1 ))
              echo "$calls" > "$FAKE_KEY_CALLS"
              if [ "$calls" -gt "$FAKE_KEY_MISSING_CALLS" ]; then echo "$FAKE_KEY"; fi
            fi
            """);
        Write("curl", """
            #!/usr/bin/env bash
            (IFS=$'\x1f'; printf 'curl\x1f%s\n' "$*") >> "$FAKE_LOG"
            printf '200'
            """);
    }

    public int KeyMissingCalls { get; }

    private string LogPath => Path.Combine(directory, "calls.log");

    /// <summary>Environment for the hook: the fakes first on PATH, plus the azd outputs given.</summary>
    public Dictionary<string, string?> Environment(IReadOnlyDictionary<string, string> azdOutputs)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["PATH"] = directory + Path.PathSeparator + System.Environment.GetEnvironmentVariable("PATH"),
            ["FAKE_LOG"] = LogPath,
            ["FAKE_KEY_CALLS"] = Path.Combine(directory, "key-calls"),
            ["FAKE_KEY_MISSING_CALLS"] = KeyMissingCalls.ToString(CultureInfo.InvariantCulture),
            ["FAKE_KEY"] = SystemKey,
            ["POSTDEPLOY_WAIT_SECONDS"] = "0",
            ["POSTDEPLOY_WAIT_ATTEMPTS"] = "5",
        };
        foreach (var name in HookOutputs.Required)
        {
            environment[name] = null;
        }

        foreach (var (key, value) in azdOutputs)
        {
            environment[key] = value;
        }

        return environment;
    }

    /// <summary>Every recorded call, as its argument list (tool name first).</summary>
    public IReadOnlyList<string[]> Calls =>
        File.Exists(LogPath)
            ? File.ReadAllLines(LogPath).Select(line => line.Split(Separator)).ToList()
            : [];

    public static Task<ProcessResult> RunHookAsync(Dictionary<string, string?> environment, params string[] arguments) =>
        ProcessRunner.RunAsync("bash", [Repository.Hook, .. arguments], Repository.Root, environment, TimeSpan.FromMinutes(1));

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private void Write(string name, string script)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
