namespace ResNeSt.Cli.Commands;

/// <summary>Latency percentiles for the measuring verbs (bench, load-test), all by the same definition.</summary>
internal static class Percentiles
{
    /// <summary>The nearest-rank percentile of an ascending array (0 when it is empty).</summary>
    public static double NearestRank(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
