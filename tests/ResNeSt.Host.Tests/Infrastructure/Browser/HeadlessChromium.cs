using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ResNeSt.Host.Tests.Infrastructure.Browser;

/// <summary>
/// Debian's <c>chromium</c>, headless, with a fresh profile, driven over the Chrome DevTools Protocol (its own
/// websocket; no driver, nothing downloaded). Where the browser is not installed, tests skip with one line.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    /// <summary><c>RESNEST_CHROMIUM</c>, or Debian's package's path.</summary>
    public static string ExecutablePath { get; } = Environment.GetEnvironmentVariable("RESNEST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static string? Unavailable => File.Exists(ExecutablePath)
        ? null
        : $"Browser tests need Debian's chromium at {ExecutablePath} (apt-get install -y chromium); skipped.";

    private readonly Process _process;
    private readonly DirectoryInfo _profile;

    private HeadlessChromium(Process process, DirectoryInfo profile, CdpPage page)
    {
        _process = process;
        _profile = profile;
        Page = page;
    }

    public CdpPage Page { get; }

    public static async Task<HeadlessChromium> StartAsync(CancellationToken cancellationToken = default)
    {
        Skip.If(Unavailable is not null, Unavailable);
        var profile = Directory.CreateTempSubdirectory("resnest-chromium-");
        var start = new ProcessStartInfo(ExecutablePath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--headless=new", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", $"--user-data-dir={profile.FullName}",
            // Containers run the tests as root, where Chromium's sandbox cannot start; the page loads only our own app.
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync", "--disable-component-update",
            "--hide-scrollbars", "--mute-audio", "about:blank",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start.");
        try
        {
            // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/<id>" on stderr.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            Uri? browserEndpoint = null;
            var stderr = new List<string>();
            while (browserEndpoint is null)
            {
                var line = await process.StandardError.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException("chromium exited before it listened:\n" + string.Join('\n', stderr));
                stderr.Add(line);
                if (DevToolsLine().Match(line) is { Success: true } match)
                {
                    browserEndpoint = new Uri(match.Groups[1].Value);
                }
            }

            // Keep draining its output, or a chatty browser blocks on a full pipe.
            _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
            _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            using var http = new HttpClient { BaseAddress = new Uri($"http://{browserEndpoint.Authority}/") };
            var targets = await http.GetFromJsonAsync<JsonArray>("json/list", timeout.Token) ?? [];
            var page = targets.FirstOrDefault(t => (string?)t!["type"] == "page")
                ?? throw new InvalidOperationException("chromium has no page target.");
            var cdp = await CdpPage.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), timeout.Token);
            return new HeadlessChromium(process, profile, cdp);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            profile.Delete(recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Page.DisposeAsync();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            _profile.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A helper process may still be writing its last file; the temp folder is cleaned up by the OS.
        }
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex DevToolsLine();
}
