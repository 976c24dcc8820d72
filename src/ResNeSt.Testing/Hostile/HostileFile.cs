using ResNeSt.Inference.Imaging;

namespace ResNeSt.Testing.Hostile;

/// <summary>What kind of attack or damage a corpus file represents.</summary>
public enum HostileClass
{
    /// <summary>A valid image cut short at some offset.</summary>
    Truncated,
    /// <summary>A valid image with a few seeded bits flipped (may still decode).</summary>
    BitFlip,
    /// <summary>A header that declares dimensions no upload should have.</summary>
    HugeDimensions,
    /// <summary>A few kilobytes that would inflate to a huge amount of pixel data.</summary>
    Bomb,
    /// <summary>Animations with thousands of frames.</summary>
    ManyFrames,
    /// <summary>Structurally invalid files behind a valid signature.</summary>
    Malformed,
    /// <summary>Zero and one byte files.</summary>
    Empty,
    /// <summary>Text, executables, archives and foreign image formats named like images.</summary>
    NotAnImage,
    /// <summary>Files that are two formats at once.</summary>
    Polyglot,
    /// <summary>Small valid images whose compressed metadata (PNG zTXt, iTXt, iCCP) inflates to gigabytes.</summary>
    MetadataBomb,
}

/// <summary>
/// How a corpus file may end. Either it must be classified (<see cref="MayClassify"/> with no reasons), or it must be
/// rejected with one of <see cref="Reasons"/>, or (damage whose effect depends on where it lands) it may be classified
/// or rejected, with one of <see cref="Reasons"/> or, when that is empty, for any reason.
/// </summary>
public sealed record HostileExpectation(bool MayClassify, IReadOnlyList<ImageRejectionReason> Reasons)
{
    public static HostileExpectation Rejected(params ImageRejectionReason[] reasons) => new(false, reasons);

    public static HostileExpectation Classified { get; } = new(true, []);

    /// <summary>
    /// Classified, or (on a slow or overloaded machine) stopped by the decode time limit: for legitimate files that take
    /// a second or two to decode, which is the limit's business, not a wrong answer.
    /// </summary>
    public static HostileExpectation ClassifiedUnlessTimedOut { get; } = new(true, [ImageRejectionReason.DecodeTimeout]);

    /// <summary>Classified, or rejected for any reason: the outcome depends on which bytes the damage hit.</summary>
    public static HostileExpectation ClassifiedOrAnyRejection { get; } = new(true, Enum.GetValues<ImageRejectionReason>());

    /// <summary>Whether a file that ended as <paramref name="rejection"/> (null: classified) met this expectation.</summary>
    public bool Accepts(ImageRejectionReason? rejection) => rejection is { } reason ? Reasons.Contains(reason) : MayClassify;

    public override string ToString() =>
        MayClassify && Reasons.Count == 0 ? "classified"
        : MayClassify && Reasons.Count == Enum.GetValues<ImageRejectionReason>().Length ? "classified or any rejection"
        : (MayClassify ? "classified or " : "") + string.Join("|", Reasons.Select(ImageRejectedException.ReasonCode));
}

/// <summary>
/// One generated hostile upload. <see cref="Name"/> is unique and stable for a given seed and sample set, so a failing
/// case is reproduced by name (<see cref="HostileCorpus.Generate"/> again, pick it out).
/// </summary>
public sealed record HostileFile(string Name, HostileClass Class, string Description, byte[] Content, HostileExpectation Expected)
{
    public override string ToString() => Name;
}
