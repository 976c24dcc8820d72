using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using SharpFuzz;

namespace ResNeSt.Fuzz;

/// <summary>
/// The code under test: one input through <see cref="ImagePreprocessor.Preprocess(ReadOnlySpan{byte}, Span{float}, PreprocessingSpec)"/>
/// twice, as the product runs it (default limits plus a decode timeout), then once with reduced-size JPEG decoding. A rejection is the expected answer for most
/// inputs; any other exception escapes and is a crash to AFL, and anything slower than afl-fuzz's -t is a hang.
/// </summary>
internal static class FuzzTarget
{
    /// <summary>
    /// The product's defaults with a decode time limit, so the fuzzer checks that the limit really bounds a slow file.
    /// One second: far above a small image's decode (milliseconds), far below afl-fuzz's -t in tools/fuzz.sh.
    /// </summary>
    public static ImageLimits Limits { get; } = ImageLimits.Default with { DecodeTimeout = TimeSpan.FromSeconds(1) };

    // The hub recipe at 224 (the torch.hub page; EXIF orientation applied, the product's default), and the paper
    // recipe at a small crop without orientation, which takes the other crop-window and chroma-region paths.
    private static readonly PreprocessingSpec s_hub = new(
        PreprocessingRecipe.Hub, 224, ModelCard.ConventionalResize(224), ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    private static readonly PreprocessingSpec s_paperSmall = new(
        PreprocessingRecipe.Paper, 24, ModelCard.ConventionalResize(24), ModelCard.ImageNetMean, ModelCard.ImageNetStd,
        ApplyExifOrientation: false);

    // Reduced-size JPEG decoding (native libjpeg-turbo through SkiaSharp): a crop of 8 from a resize of 9, so that any
    // JPEG from 18 px a side up is decoded at 1/2, 1/4 or 1/8, as phone photos are at 224.
    private static readonly PreprocessingSpec s_fastTiny = new(
        PreprocessingRecipe.Hub, 8, 9, ModelCard.ImageNetMean, ModelCard.ImageNetStd);

    private static readonly ImagePreprocessor s_preprocessor = new(Limits);
    private static readonly ImagePreprocessor s_fast = new(Limits, decode: DecodeMode.Fast);
    private static readonly float[] s_fastTensor = new float[s_fastTiny.TensorLength];
    private static readonly float[] s_hubTensor = new float[s_hub.TensorLength];
    private static readonly float[] s_smallTensor = new float[s_paperSmall.TensorLength];

    /// <summary>Runs one input; returns the rejection, or null when both recipes accepted it.</summary>
    public static ImageRejectedException? Execute(ReadOnlySpan<byte> input)
    {
        try
        {
            var hub = s_preprocessor.Preprocess(input, s_hubTensor, s_hub);
            var small = s_preprocessor.Preprocess(input, s_smallTensor, s_paperSmall);
            var fast = s_fast.Preprocess(input, s_fastTensor, s_fastTiny);
            var header = ImagePreprocessor.Identify(input, Limits);
            if (hub != small || hub != header || fast != header)
            {
                throw new InvalidOperationException($"The same bytes identified as {hub}, {small}, {fast} (fast) and (header only) {header}.");
            }

            CheckFinite(s_hubTensor);
            CheckFinite(s_smallTensor);
            CheckFinite(s_fastTensor);
            return null;
        }
        catch (ImageRejectedException rejected)
        {
            return rejected;
        }
    }

    /// <summary>
    /// The SharpFuzz fork server. Out of process: the inputs run in a child dotnet process that the server restarts
    /// when afl-fuzz kills it for a hang (or it dies of a stack overflow); in-process, that kill would end the run.
    /// </summary>
    public static int RunUnderAfl()
    {
        // Inputs are kilobytes; the buffer grows if one is not, and is reused otherwise.
        var buffer = new MemoryStream(64 * 1024);
        Fuzzer.OutOfProcess.Run(stream =>
        {
            buffer.SetLength(0);
            stream.CopyTo(buffer);
            Execute(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        });
        return 0;
    }

    private static void CheckFinite(float[] tensor)
    {
        // Normalised 8-bit values lie within about ±2.7; anything else means the resampler read garbage.
        foreach (float v in tensor)
        {
            if (v is not (>= -3f and <= 3f))
            {
                throw new InvalidOperationException($"Tensor value {v} is outside the range of normalised 8-bit pixels.");
            }
        }
    }
}
