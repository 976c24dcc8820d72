using ResNeSt.TestSupport;

namespace ResNeSt.Pipeline.Tests;

/// <summary>The tests sharing one Azurite (<see cref="AzuriteFixture"/>); xUnit looks for this in the test assembly.</summary>
[CollectionDefinition(AzuriteFixture.Collection)]
public sealed class AzuriteTests : ICollectionFixture<AzuriteFixture>;
