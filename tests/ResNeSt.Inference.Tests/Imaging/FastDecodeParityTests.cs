using System.Globalization;
using System.Text;
using System.Text.Json;
using ResNeSt.Inference.Imaging;
using ResNeSt.Models.Metadata;
using Xunit.Abstractions;

namespace ResNeSt.Inference.Tests.Imaging;

/// <summary>
/// <see cref="DecodeMode.Fast"/> decodes as PIL's <c>Image.draft('RGB', (R, R))</c> (libjpeg's reduced-size decode) and
/// resamples with the full-size geometry: where the reduced sides are exact (multiples of the scale) that is PIL's draft
/// pipeline bit for bit; where libjpeg rounded a side up, it must be nearer PIL's full-size result than PIL's draft is.
/// References from tools/make-draft-references.py: scales 1/2, 1/4 and 1/8, baseline and progressive, 4:2:0, 4:2:2,
/// 4:4:4, grey, EXIF orientations 3 and 6, both recipes.
/// </summary>
public sealed class FastDecodeParityTests(ITestOutputHelper output)
{
    private static readonly ImagePreprocessor s_fast = new(ImageLimits.Default, decode: DecodeMode.Fast);
    private static readonly ImagePreprocessor s_exact = new(ImageLimits.Default, decode: DecodeMode.Exact);

    private static string DraftDir => Path.Combine(Fixtures.FixtureDir, "draft");

    [Fact]
    public void Fast_decoding_is_bit_exact_with_PILs_draft_pipeline()
    {
        var table = new StringBuilder();
        var failures = new List<string>();
        var scales = new HashSet<int>();
        foreach (var c in DraftCases())
        {
            Assert.Equal(c.Scale, ScaledJpegDecoder.ScaleFor(c.Width, c.Height, c.Spec));
            scales.Add(c.Scale);
            var fast = Preprocess(s_fast, c);
            var draft = Fixtures.LoadReference(Reference(c, c.Reference));
            var full = Fixtures.LoadReference(Reference(c, c.FullReference));
            var (mean, max) = Difference(fast, draft);
            var (fastToFull, _) = Difference(fast, full);
            var (draftToFull, _) = Difference(draft, full);
            bool exactGeometry = c.Scale > 1 && SameGeometryAsDraft(c);
            table.AppendLine(CultureInfo.InvariantCulture,
                $"{c.Input,-30} {c.Spec.Recipe,-6} exif={c.Spec.ApplyExifOrientation,-5} 1/{c.Scale} vs draft: mean {mean:F4} max {max,3}; vs full size: fast {fastToFull:F4}, PIL draft {draftToFull:F4}{(exactGeometry ? "" : " (geometry differs from the draft's)")}");
            if (c.Scale == 1)
            {
                // Where PIL's draft keeps the full size, fast takes the exact path: within its parity tolerance (mean 0.5/255).
                if (mean > 0.5)
                {
                    failures.Add($"{c.Input} {c.Spec.Recipe}: mean {mean:F4}/255 on the exact path");
                }
            }
            else if (exactGeometry ? max != 0 : fastToFull >= draftToFull)
            {
                failures.Add($"{c.Input} {c.Spec.Recipe}: max {max}/255 from PIL's draft, mean {fastToFull:F4} from full size (draft: {draftToFull:F4})");
            }
        }

        output.WriteLine(table.ToString());
        Assert.Equal([1, 2, 4, 8], scales.Order());
        Assert.Empty(failures);
    }

    [Fact]
    public void Exact_decoding_ignores_the_draft_references()
    {
        // The exact path decodes in full, so where PIL's draft reduced the image its answer differs from the draft's.
        foreach (var c in DraftCases().Where(c => c.Scale > 1))
        {
            var (_, max) = Compare(s_exact, c);
            Assert.True(max > 0, $"{c.Input} {c.Spec.Recipe}: the exact path matched the reduced-size reference");
        }
    }

    [Fact]
    public void Fast_decoding_leaves_other_formats_and_small_jpegs_on_the_exact_path()
    {
        // Everything the existing parity references cover is too small to reduce, CMYK or not a JPEG: the same bytes.
        foreach (var c in Fixtures.Cases())
        {
            var bytes = File.ReadAllBytes(Path.Combine(Fixtures.RepoRoot, c.Input));
            var info = ImagePreprocessor.Identify(bytes, ImageLimits.Default);
            if (info.Format == "jpeg" && ScaledJpegDecoder.ScaleFor(info.Width, info.Height, c.Spec) > 1 && !c.Input.Contains("cmyk", StringComparison.Ordinal))
            {
                continue;
            }

            var fast = new float[c.Spec.TensorLength];
            var exact = new float[c.Spec.TensorLength];
            s_fast.Preprocess(bytes, fast, c.Spec);
            s_exact.Preprocess(bytes, exact, c.Spec);
            Assert.True(fast.AsSpan().SequenceEqual(exact), $"{c}: fast and exact differ");
        }
    }

    [Fact]
    public void A_truncated_large_jpeg_is_rejected_before_the_native_decoder_sees_it()
    {
        var bytes = File.ReadAllBytes(Path.Combine(DraftDir, "baseline-420-640x480.jpg"));
        var spec = new PreprocessingSpec(PreprocessingRecipe.Hub, 64, 73, ModelCard.ImageNetMean, ModelCard.ImageNetStd);
        var ex = Assert.Throws<ImageRejectedException>(() => s_fast.Preprocess(bytes.AsSpan(0, bytes.Length / 2), new float[spec.TensorLength], spec));
        Assert.Equal(ImageRejectionReason.Corrupt, ex.Reason);
    }

    [Fact]
    public void A_cancelled_fast_decode_stops()
    {
        var bytes = File.ReadAllBytes(Path.Combine(DraftDir, "baseline-420-640x480.jpg"));
        var spec = new PreprocessingSpec(PreprocessingRecipe.Hub, 64, 73, ModelCard.ImageNetMean, ModelCard.ImageNetStd);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => s_fast.Preprocess(bytes, new float[spec.TensorLength], spec, cancelled.Token));
    }

    private static (double Mean, int Max) Compare(ImagePreprocessor preprocessor, DraftCase c) =>
        Difference(Preprocess(preprocessor, c), Fixtures.LoadReference(Reference(c, c.Reference)));

    private static byte[] Preprocess(ImagePreprocessor preprocessor, DraftCase c)
    {
        var tensor = new float[c.Spec.TensorLength];
        preprocessor.Preprocess(File.ReadAllBytes(Path.Combine(DraftDir, c.Input)), tensor, c.Spec);
        return Fixtures.Denormalise(tensor, c.Spec.CropSize, c.Spec);
    }

    private static ParityCase Reference(DraftCase c, string file) =>
        new(c.Input, c.Input, c.Spec.Recipe, c.Spec.CropSize, c.Spec.ResizeSize, c.Spec.ApplyExifOrientation, Path.Combine("draft", file));

    /// <summary>Whether the full-size geometry carried to the reduced image is the reduced image's own plan (PIL's draft).</summary>
    private static bool SameGeometryAsDraft(DraftCase c)
    {
        bool transposed = c.Spec.ApplyExifOrientation && c.Input.StartsWith("exif6", StringComparison.Ordinal);
        var (w, h) = transposed ? (c.Height, c.Width) : (c.Width, c.Height);
        var (sw, sh) = ScaledJpegDecoder.ScaledSize(w, h, c.Scale);
        var carried = ResamplePlan.ForScaled(w, h, c.Scale, sw, sh, c.Spec);
        var draft = ResamplePlan.For(sw, sh, c.Spec);
        return (carried.SourceX, carried.SourceY, carried.SourceWidth, carried.SourceHeight, carried.BoxX0, carried.BoxX1, carried.BoxY0, carried.BoxY1)
                == (draft.SourceX, draft.SourceY, draft.SourceWidth, draft.SourceHeight, draft.BoxX0, draft.BoxX1, draft.BoxY0, draft.BoxY1)
            && (carried.ResizedWidth, carried.ResizedHeight, carried.CropLeft, carried.CropTop) == (draft.ResizedWidth, draft.ResizedHeight, draft.CropLeft, draft.CropTop);
    }

    private static (double Mean, int Max) Difference(byte[] mine, byte[] reference)
    {
        Assert.Equal(reference.Length, mine.Length);
        long sum = 0;
        int max = 0;
        for (int i = 0; i < mine.Length; i++)
        {
            int d = Math.Abs(mine[i] - reference[i]);
            sum += d;
            max = Math.Max(max, d);
        }

        return ((double)sum / mine.Length, max);
    }

    private static IEnumerable<DraftCase> DraftCases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(DraftDir, "manifest.json")));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var input = c.GetProperty("input").GetString()!;
            var info = ImagePreprocessor.Identify(File.ReadAllBytes(Path.Combine(DraftDir, input)), ImageLimits.Default);
            var spec = new PreprocessingSpec(
                Enum.Parse<PreprocessingRecipe>(c.GetProperty("recipe").GetString()!, ignoreCase: true),
                c.GetProperty("crop").GetInt32(), c.GetProperty("resize").GetInt32(),
                ModelCard.ImageNetMean, ModelCard.ImageNetStd, c.GetProperty("exif").GetBoolean());
            yield return new DraftCase(
                input, info.Width, info.Height, spec, c.GetProperty("scale").GetInt32(), c.GetProperty("reference").GetString()!,
                c.GetProperty("fullReference").GetString()!);
        }
    }

    private sealed record DraftCase(string Input, int Width, int Height, PreprocessingSpec Spec, int Scale, string Reference, string FullReference);
}
