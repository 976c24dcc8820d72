namespace ResNeSt.Inference.Imaging.Framing;

/// <summary>
/// One format an upload may be in: how its leading bytes identify it, and whether its framing is whole.
/// The framing check covers what ImageSharp forgives but PIL does not (a truncated JPEG or PNG decodes to grey in
/// ImageSharp and raises in PIL), so a damaged upload is refused rather than classified.
/// </summary>
internal interface IFormatFraming
{
    ImageFormatKind Kind { get; }

    /// <summary>The lower-case name results and messages use (<c>jpeg</c>, <c>png</c>, …).</summary>
    string Name { get; }

    /// <summary>The rejection message for a file whose framing is not whole.</summary>
    string IncompleteMessage { get; }

    /// <summary>Whether the leading bytes are this format's signature.</summary>
    bool Matches(ReadOnlySpan<byte> data);

    /// <summary>Whether the container framing is whole; only called on data that <see cref="Matches"/>.</summary>
    bool IsComplete(ReadOnlySpan<byte> data);
}
