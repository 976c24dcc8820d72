using ResNeSt.Pipeline.Results;

namespace ResNeSt.Pipeline.Claims;

/// <summary>The decision of a claim and the result row it was made on (ours when <see cref="ClaimStatus.Claimed"/>).</summary>
public sealed record ClaimResult(ClaimStatus Status, ResultEntity Entity);
