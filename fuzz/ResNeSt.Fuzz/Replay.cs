using System.Diagnostics;
using System.Globalization;

namespace ResNeSt.Fuzz;

/// <summary>
/// Triage: runs files through <see cref="FuzzTarget"/> outside afl-fuzz and prints one line per file — accepted,
/// rejected (with the reason code), FINDING (any other exception, stack trace on stderr), SLOW or HANG.
/// </summary>
internal static class Replay
{
    private static readonly TimeSpan s_slow = FuzzTarget.Limits.DecodeTimeout!.Value * 2;
    private static readonly TimeSpan s_hang = TimeSpan.FromSeconds(20);

    public static int Run(IEnumerable<string> paths, TextWriter output)
    {
        var files = paths
            .SelectMany(p => Directory.Exists(p)
                ? Directory.EnumerateFiles(p).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
                : (IEnumerable<string>)[p])
            .ToList();
        int accepted = 0, rejected = 0, findings = 0, slow = 0;
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(file);
            var clock = Stopwatch.StartNew();

            // A dedicated thread so a hang is reported instead of stalling the triage; the process ends after it.
            var run = Task.Factory.StartNew(() => FuzzTarget.Execute(bytes), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (Task.WaitAny([run], s_hang) < 0) // WaitAny, unlike Wait, does not throw when the run faulted
            {
                output.WriteLine($"HANG      >{s_hang.TotalSeconds:F0} s  {file}");
                output.Flush();
                Environment.Exit(3);
            }

            double ms = clock.Elapsed.TotalMilliseconds;
            string time = ms.ToString("F1", CultureInfo.InvariantCulture).PadLeft(8);
            string tag = clock.Elapsed > s_slow ? " SLOW" : "";
            slow += tag.Length > 0 ? 1 : 0;
            if (run.IsFaulted)
            {
                findings++;
                var ex = run.Exception!.InnerException!;
                output.WriteLine($"FINDING  {time} ms  {file}  {ex.GetType().FullName}: {ex.Message}");
                Console.Error.WriteLine($"--- {file}\n{ex}");
            }
            else if (run.Result is { } rejection)
            {
                rejected++;
                output.WriteLine($"rejected {time} ms  {file}  {rejection.Code}{tag}  {rejection.Message}");
            }
            else
            {
                accepted++;
                output.WriteLine($"ok       {time} ms  {file}{tag}");
            }
        }

        output.WriteLine($"{files.Count} files: {accepted} accepted, {rejected} rejected, {findings} findings, {slow} slow (> {s_slow.TotalSeconds:F0} s)");
        return findings > 0 ? 1 : slow > 0 ? 4 : 0;
    }
}
