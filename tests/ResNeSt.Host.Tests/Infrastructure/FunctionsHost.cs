using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace ResNeSt.Host.Tests.Infrastructure;

/// <summary>One line of the host's console, with when it was read.</summary>
internal sealed record HostLogLine(DateTimeOffset At, string Text);

/// <summary>
/// The Azure Functions host running the published app: Core Tools' <c>func start</c> where <c>func</c> is on PATH,
/// else <c>../shared/functions-host/run-host</c> (the same host, 4.1037.0, built from its public sources). App
/// settings go in as environment variables, as Azure passes them. Keys are the files the host reads
/// (<c>AzureWebJobsSecretStorageType=files</c>), written before the start so a restart keeps them.
/// </summary>
internal sealed class FunctionsHost : IAsyncDisposable
{
    private readonly List<HostLogLine> _log = [];
    private readonly string _appDirectory;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private Process? _process;

    private FunctionsHost(string appDirectory, IReadOnlyDictionary<string, string> settings, string secrets, int port, HostKeys keys)
    {
        _appDirectory = appDirectory;
        _settings = settings;
        SecretsDirectory = secrets;
        Port = port;
        Keys = keys;
    }

    /// <summary>How the host is started here, or why it cannot be (the reason for skipping).</summary>
    public static (string? Launcher, string Description) Launcher { get; } = FindLauncher();

    public string SecretsDirectory { get; }

    public int Port { get; }

    public HostKeys Keys { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>When the current host process was started.</summary>
    public DateTimeOffset StartedAt { get; private set; }

    /// <summary>Process id of the host (the worker is its child).</summary>
    public int ProcessId => _process?.Id ?? 0;

    public IReadOnlyList<HostLogLine> Log
    {
        get
        {
            lock (_log)
            {
                return [.. _log];
            }
        }
    }

    public string LogText => string.Join('\n', Log.Select(l => l.Text));

    public static async Task<FunctionsHost> StartAsync(string appDirectory, IReadOnlyDictionary<string, string> settings)
    {
        Skip.If(Launcher.Launcher is null, Launcher.Description);
        var secrets = Directory.CreateTempSubdirectory("resnest-host-secrets-").FullName;
        var keys = HostKeys.Write(secrets);
        var host = new FunctionsHost(appDirectory, settings, secrets, FreePort(), keys);
        await host.StartProcessAsync();
        return host;
    }

    /// <summary>Starts the host again on the same port, keys and settings (after <see cref="KillAsync"/>).</summary>
    public Task RestartAsync() => StartProcessAsync();

    /// <summary>SIGKILL of the host and its worker, as a crashed machine or an evicted replica ends them.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Lines of the current run that look like the host disabling a function.</summary>
    public IEnumerable<string> IndexingFailures => Log.Select(l => l.Text)
        .Where(t => t.Contains("will be disabled", StringComparison.OrdinalIgnoreCase) || t.Contains("failed indexing", StringComparison.OrdinalIgnoreCase)
            || t.Contains("Error indexing method", StringComparison.Ordinal));

    private async Task StartProcessAsync()
    {
        var (launcher, _) = Launcher;
        var start = new ProcessStartInfo(launcher!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _appDirectory,
        };
        if (Path.GetFileName(launcher) == "func")
        {
            foreach (var argument in new[] { "start", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.ArgumentList.Add(_appDirectory);
        }

        // Nothing of the test runner's own environment that the host would read as settings.
        foreach (var key in start.Environment.Keys.Where(k => k.Contains("__", StringComparison.Ordinal) || k.StartsWith("AzureWebJobs", StringComparison.Ordinal)
            || k.StartsWith("FUNCTIONS_", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (name, value) in _settings)
        {
            start.Environment[name] = value;
        }

        start.Environment["FUNCTIONS_HOST_PORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["FUNCTIONS_HOST_SECRETS"] = SecretsDirectory;
        start.Environment["AzureWebJobsSecretStorageType"] = "files";
        start.Environment["FUNCTIONS_SECRETS_PATH"] = SecretsDirectory;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {launcher}.");
        StartedAt = DateTimeOffset.UtcNow;
        void OnLine(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is { } text)
            {
                lock (_log)
                {
                    _log.Add(new HostLogLine(DateTimeOffset.UtcNow, text));
                }
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitUntilRunningAsync(process);
    }

    /// <summary>Until the host's admin status says Running (triggers indexed, listeners started).</summary>
    private async Task WaitUntilRunningAsync(Process process)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(3);
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The Functions host exited with {process.ExitCode}:\n{LogText}");
            }

            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "admin/host/status");
                request.Headers.Add("x-functions-key", Keys.Master);
                using var response = await http.SendAsync(request);
                if (response.IsSuccessStatusCode
                    && JsonNode.Parse(await response.Content.ReadAsStringAsync())?["state"]?.GetValue<string>() == "Running")
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"The Functions host did not reach Running within 3 minutes:\n{LogText}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        try
        {
            Directory.Delete(SecretsDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static (string?, string) FindLauncher()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var func = Path.Combine(dir, "func");
            if (File.Exists(func))
            {
                return (func, "Core Tools (func start)");
            }
        }

        var runHost = Path.Combine(Repository.Shared, "functions-host", "run-host");
        return File.Exists(runHost)
            ? (runHost, "../shared/functions-host/run-host")
            : (null, "Skipped: neither Core Tools (func on PATH) nor ../shared/functions-host/run-host is here to run the Functions host.");
    }
}

/// <summary>Resident and peak memory of a process, from /proc (Linux).</summary>
internal sealed record ProcessMemory(long ResidentBytes, long PeakResidentBytes)
{
    public static ProcessMemory? Of(int pid)
    {
        var status = $"/proc/{pid}/status";
        if (!File.Exists(status))
        {
            return null;
        }

        long Read(string key) => File.ReadLines(status).Where(l => l.StartsWith(key, StringComparison.Ordinal))
            .Select(l => long.Parse(l[key.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024).FirstOrDefault();
        return new ProcessMemory(Read("VmRSS:"), Read("VmHWM:"));
    }

    /// <summary>The worker: the host's child process running the app's dll.</summary>
    public static int? WorkerOf(int hostPid) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0)
            .FirstOrDefault(pid =>
            {
                try
                {
                    var stat = File.ReadAllText($"/proc/{pid}/stat");
                    var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                    return ppid == hostPid && File.ReadAllText($"/proc/{pid}/cmdline").Contains("ResNeSt.Functions.dll", StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false;
                }
            }) is var found and > 0 ? found : null;
}
