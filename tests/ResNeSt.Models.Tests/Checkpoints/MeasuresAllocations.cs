namespace ResNeSt.Models.Tests.Checkpoints;

/// <summary>Tests that measure the process's allocations run alone, after the parallel ones.</summary>
[CollectionDefinition(nameof(MeasuresAllocations), DisableParallelization = true)]
public sealed class MeasuresAllocations;
