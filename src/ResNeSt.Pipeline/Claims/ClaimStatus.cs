namespace ResNeSt.Pipeline.Claims;

/// <summary>What <see cref="ResultClaims.ClaimAsync"/> found.</summary>
public enum ClaimStatus
{
    /// <summary>This invocation owns the blob version now.</summary>
    Claimed,
    /// <summary>A final result for this exact version exists.</summary>
    AlreadyDone,
    /// <summary>Another invocation claimed this version recently and has not finished.</summary>
    HeldElsewhere,
    /// <summary>A result for a newer version of the blob exists; this version is history.</summary>
    Superseded,
}
