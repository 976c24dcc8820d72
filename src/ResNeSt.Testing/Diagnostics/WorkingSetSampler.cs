namespace ResNeSt.Testing.Diagnostics;

/// <summary>
/// Samples the process's working set (managed heap, native allocations, mapped pages: everything resident) on a
/// background thread, to catch the peak a short-lived decode buffer causes. The process-wide peak counter cannot be
/// used: it never goes down, so whatever ran earlier in the process would hide the peak of the code under test.
/// </summary>
public sealed class WorkingSetSampler : IDisposable
{
    private readonly Thread _thread;
    private readonly TimeSpan _interval;
    private volatile bool _stop;
    private long _peak;

    private WorkingSetSampler(TimeSpan interval)
    {
        _interval = interval;
        Baseline = Environment.WorkingSet;
        _peak = Baseline;
        _thread = new Thread(Run) { IsBackground = true, Name = "working-set sampler" };
        _thread.Start();
    }

    /// <summary>Collects garbage first so that the baseline is what the process really holds, then starts sampling.</summary>
    public static WorkingSetSampler Start(TimeSpan? interval = null)
    {
        // Aggressive: also give freed segments back to the OS, or garbage from earlier work inflates the baseline and
        // later allocations reuse it unseen.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return new WorkingSetSampler(interval ?? TimeSpan.FromMilliseconds(2));
    }

    /// <summary>Working set when sampling started, in bytes.</summary>
    public long Baseline { get; }

    /// <summary>The largest working set seen so far, in bytes.</summary>
    public long Peak => Math.Max(Interlocked.Read(ref _peak), Environment.WorkingSet);

    /// <summary>How far the working set rose above the baseline, in bytes.</summary>
    public long PeakGrowth => Peak - Baseline;

    private void Run()
    {
        while (!_stop)
        {
            long now = Environment.WorkingSet;
            if (now > Interlocked.Read(ref _peak))
            {
                Interlocked.Exchange(ref _peak, now);
            }

            Thread.Sleep(_interval);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
