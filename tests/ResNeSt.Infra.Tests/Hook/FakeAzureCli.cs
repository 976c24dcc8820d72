using System.Globalization;
using ResNeSt.Infra.Tests.Infrastructure;

namespace ResNeSt.Infra.Tests.Hook;

/// <summary>
/// Stand-ins for `az` and `curl` on PATH (Azure cannot be reached from tests). The fake `az` answers each command the
/// hook runs with the recorded output in Hook/Recordings (each file says where its shape comes from), then applies
/// `--query` with the JMESPath implementation the real Azure CLI uses (Python's jmespath) and formats the result as
/// `--output` asks. A query that does not match the real shape therefore finds nothing here either. Until
/// <see cref="KeyMissingCalls"/> key listings have been made, the host has not created blobs_extension yet.
/// </summary>
internal sealed class FakeAzureCli : IDisposable
{
    public const string SystemKey = "fake-blobs-extension-key";
    private const char Separator = '\u001f';

    private readonly string _directory = Directory.CreateTempSubdirectory("resnest-fake-az-").FullName;

    public FakeAzureCli(int keyMissingCalls = 0)
    {
        KeyMissingCalls = keyMissingCalls;
        Write("az", """
            #!/usr/bin/python3
            import json, os, sys
            import jmespath

            args = sys.argv[1:]
            with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as log:
                log.write("\x1f".join(["az", *args]) + "\n")

            def option(name, default=None):
                return args[args.index(name) + 1] if name in args else default

            words = []
            for arg in args:
                if arg.startswith("-"):
                    break
                words.append(arg)
            command = " ".join(words)
            recordings = os.environ["FAKE_RECORDINGS"]
            recording = None
            for name in sorted(os.listdir(recordings)):
                with open(os.path.join(recordings, name), encoding="utf-8") as f:
                    candidate = json.load(f)
                if candidate["command"] == command:
                    recording = candidate
            if recording is None:
                print(f"fake az: no recording for 'az {command}'", file=sys.stderr)
                sys.exit(2)

            output = recording["output"]
            if command in ("containerapp function keys list", "functionapp keys list"):
                calls_file = os.environ["FAKE_KEY_CALLS"]
                calls = (int(open(calls_file).read()) if os.path.exists(calls_file) else 0) + 1
                open(calls_file, "w").write(str(calls))
                if calls <= int(os.environ["FAKE_KEY_MISSING_CALLS"]):
                    # The host runs but has not registered the blob trigger's extension key yet.
                    text = json.dumps(output).replace('"blobs_extension"', '"not_yet_created"')
                    output = json.loads(text)

            query = option("--query")
            if query is not None:
                output = jmespath.search(query, output)

            fmt = option("--output", option("-o", "json"))
            if fmt == "none" or output is None:
                sys.exit(0)
            if fmt == "tsv":
                # As az's tsv formatter: scalars as text, a list one row per item, an object its values tab-separated.
                def cell(value):
                    return "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
                rows = output if isinstance(output, list) else [output]
                for row in rows:
                    print("\t".join(cell(v) for v in row.values()) if isinstance(row, dict) else cell(row))
            else:
                print(json.dumps(output, indent=2))
            """);
        Write("curl", """
            #!/usr/bin/env bash
            (IFS=$'\x1f'; printf 'curl\x1f%s\n' "$*") >> "$FAKE_LOG"
            printf '200'
            """);
    }

    public int KeyMissingCalls { get; }

    private string LogPath => Path.Combine(_directory, "calls.log");

    /// <summary>Environment for the hook: the fakes first on PATH, plus the azd outputs given.</summary>
    public Dictionary<string, string?> Environment(IReadOnlyDictionary<string, string> azdOutputs)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["PATH"] = _directory + Path.PathSeparator + System.Environment.GetEnvironmentVariable("PATH"),
            ["FAKE_LOG"] = LogPath,
            ["FAKE_KEY_CALLS"] = Path.Combine(_directory, "key-calls"),
            ["FAKE_KEY_MISSING_CALLS"] = KeyMissingCalls.ToString(CultureInfo.InvariantCulture),
            ["FAKE_RECORDINGS"] = Path.Combine(Repository.Root, "tests", "ResNeSt.Infra.Tests", "Hook", "Recordings"),
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
        RunHookAsync(HookShell.Bash, environment, arguments.Contains("--dry-run"));

    /// <summary>Runs postdeploy.sh with bash or postdeploy.ps1 with PowerShell 7 (the local .NET tool), dry or not.</summary>
    public static async Task<ProcessResult> RunHookAsync(HookShell shell, Dictionary<string, string?> environment, bool dryRun)
    {
        if (shell == HookShell.Bash)
        {
            return await ProcessRunner.RunAsync("bash", [Repository.Hook, .. dryRun ? ["--dry-run"] : Array.Empty<string>()], Repository.Root, environment, TimeSpan.FromMinutes(1));
        }

        await s_powerShell.Value;
        return await ProcessRunner.RunAsync(
            "dotnet",
            ["tool", "run", "pwsh", "-NoLogo", "-NoProfile", "-NonInteractive", "-File", Repository.PowerShellHook, .. dryRun ? ["-DryRun"] : Array.Empty<string>()],
            Repository.Root,
            environment,
            TimeSpan.FromMinutes(2));
    }

    // PowerShell 7.6.9 is a .NET tool in .config/dotnet-tools.json: restored once per test run, like CI would.
    private static readonly Lazy<Task> s_powerShell = new(async () =>
    {
        var restore = await ProcessRunner.RunAsync("dotnet", ["tool", "restore"], Repository.Root, timeout: TimeSpan.FromMinutes(5));
        if (restore.ExitCode != 0)
        {
            throw new InvalidOperationException("dotnet tool restore failed: " + restore.Describe());
        }
    });

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private void Write(string name, string script)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}

public enum HookShell
{
    Bash,
    PowerShell,
}
