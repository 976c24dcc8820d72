using System.Text.Json;
using ResNeSt.Host.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ResNeSt.Host.Tests;

/// <summary>The published app as the host starts it: every function indexed, and a quiet console.</summary>
public sealed class StartupTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_idle = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task Every_function_is_indexed_and_an_idle_host_logs_no_warning_or_error_in_its_first_30_seconds()
    {
        await using var app = await HostedApp.StartAsync(await ParityModel.BytesAsync());
        var wait = app.Host.StartedAt + s_idle - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        var log = app.Host.Log;
        output.WriteLine($"{log.Count} host log lines in the first {s_idle.TotalSeconds:0} s; launcher: {FunctionsHost.Launcher.Description}");
        Assert.Empty(app.Host.IndexingFailures);

        // The host's own list of what it runs (admin API, master key) holds every function of functions.metadata.
        using var metadata = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(await PublishedApp.DirectoryAsync(), "functions.metadata")));
        var expected = metadata.RootElement.EnumerateArray().Select(f => f.GetProperty("name").GetString()!).Order(StringComparer.Ordinal).ToList();
        using var response = await app.Http.SendAsync(HostedApp.Request(HttpMethod.Get, "admin/functions", app.Host.Keys.Master));
        response.EnsureSuccessStatusCode();
        using var listed = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(expected, listed.RootElement.EnumerateArray().Select(f => f.GetProperty("name").GetString()!).Order(StringComparer.Ordinal));

        // Function errors the host keeps (a disabled trigger shows here even when the host says Running).
        using var status = await app.Http.SendAsync(HostedApp.Request(HttpMethod.Get, "admin/host/status", app.Host.Keys.Master));
        var statusJson = await status.Content.ReadAsStringAsync();
        output.WriteLine(statusJson);
        using var statusDocument = JsonDocument.Parse(statusJson);
        Assert.False(statusDocument.RootElement.TryGetProperty("errors", out var errors) && errors.GetArrayLength() > 0, statusJson);

        // The console of an idle host: no warning, error or critical line (the host prints "warn:", "fail:", "crit:").
        var noisy = log.Where(l => l.At - app.Host.StartedAt <= s_idle)
            .Select(l => l.Text)
            .Where(t => t.StartsWith("warn:", StringComparison.Ordinal) || t.StartsWith("fail:", StringComparison.Ordinal) || t.StartsWith("crit:", StringComparison.Ordinal))
            .ToList();
        Assert.True(noisy.Count == 0, "Warnings or errors at start-up:\n" + app.Host.LogText);
    }
}
