namespace ResNeSt.Pipeline.Batches;

/// <summary>A batch job was refused because as many jobs as the settings allow are already running.</summary>
public sealed class BatchJobLimitException(int activeJobs, int maxActiveJobs)
    : Exception($"{activeJobs} batch jobs are running; at most {maxActiveJobs} may run at once. Try again when one has completed.")
{
    public int ActiveJobs { get; } = activeJobs;

    public int MaxActiveJobs { get; } = maxActiveJobs;
}
