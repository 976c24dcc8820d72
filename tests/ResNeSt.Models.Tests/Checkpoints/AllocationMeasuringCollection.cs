namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>Tests that measure the process's allocations run alone, after the parallel ones.</summary>
[CollectionDefinition(nameof(AllocationMeasuringCollection), DisableParallelization = true)]
public sealed class AllocationMeasuringCollection;
