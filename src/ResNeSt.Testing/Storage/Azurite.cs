using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ResNeSt.Testing.Storage;

/// <summary>
/// A private Azurite (the npm storage emulator, <c>node_modules/.bin/azurite</c>) on free loopback ports, in memory,
/// for the tests and the local demo. Telemetry is off (Azurite would otherwise call out).
/// </summary>
public sealed partial class Azurite : IAsyncDisposable
{
    /// <summary>The well-known development account (public, documented by Microsoft; not a secret).</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;

    private readonly DirectoryInfo _workspace;

    private Azurite(Process process, DirectoryInfo workspace, int blobPort, int queuePort, int tablePort)
    {
        _process = process;
        _workspace = workspace;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }

    /// <summary>A connection string for all three services.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};"
        + $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{AccountName};"
        + $"QueueEndpoint=http://127.0.0.1:{QueuePort}/{AccountName};"
        + $"TableEndpoint=http://127.0.0.1:{TablePort}/{AccountName};";

    /// <summary>Finds <c>node_modules/.bin/azurite</c> in <paramref name="startDirectory"/> or a parent.</summary>
    public static string? FindExecutable(string startDirectory)
    {
        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "node_modules", ".bin", "azurite");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Starts Azurite on ports the OS picks and waits until all three services listen.</summary>
    public static async Task<Azurite> StartAsync(string? executable = null, CancellationToken cancellationToken = default)
    {
        executable ??= FindExecutable(AppContext.BaseDirectory) ?? FindExecutable(Environment.CurrentDirectory)
            ?? throw new FileNotFoundException("node_modules/.bin/azurite not found: run 'npm ci' in the repository root.");
        var workspace = Directory.CreateTempSubdirectory("azurite-");
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workspace.FullName,
        };
        foreach (var arg in new[]
        {
            "--disableTelemetry", "--loose", "--skipApiVersionCheck", "--inMemoryPersistence", "--silent",
            "--extentMemoryLimit", "1024",
            "--blobHost", "127.0.0.1", "--blobPort", "0",
            "--queueHost", "127.0.0.1", "--queuePort", "0",
            "--tableHost", "127.0.0.1", "--tablePort", "0",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        var ports = new Dictionary<string, int>(StringComparer.Ordinal);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        void OnLine(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (ports)
            {
                output.AppendLine(e.Data);
                var match = ListeningLine().Match(e.Data);
                if (match.Success)
                {
                    ports[match.Groups["service"].Value] = int.Parse(match.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture);
                    if (ports.Count == 3)
                    {
                        ready.TrySetResult();
                    }
                }
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync(cancellationToken);
            var first = await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(60), cancellationToken)).ConfigureAwait(false);
            if (first != ready.Task)
            {
                throw new InvalidOperationException($"Azurite did not start:\n{output}");
            }
        }
        catch
        {
            Kill(process);
            process.Dispose();
            workspace.Delete(recursive: true);
            throw;
        }

        return new Azurite(process, workspace, ports["Blob"], ports["Queue"], ports["Table"]);
    }

    [GeneratedRegex(@"Azurite (?<service>Blob|Queue|Table) service is successfully listening at http://127\.0\.0\.1:(?<port>\d+)")]
    private static partial Regex ListeningLine();

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                // Only this process and its children (npm's shim starts node).
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill(_process);
        await _process.WaitForExitAsync().ConfigureAwait(false);
        _process.Dispose();
        try
        {
            _workspace.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Only its empty debug/config files; the OS temp cleaner gets them.
        }
    }
}
