using System.Runtime.InteropServices;

/// <summary>CPU time consumed by the calling thread (Linux CLOCK_THREAD_CPUTIME_ID).</summary>
internal static partial class ThreadClock
{
    private const int ClockThreadCpuTimeId = 3;

    public static double CpuMilliseconds()
    {
        if (ClockGetTime(ClockThreadCpuTimeId, out var ts) != 0)
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed; this bench needs Linux.");
        }

        return (ts.Seconds * 1e3) + (ts.Nanoseconds / 1e6);
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
