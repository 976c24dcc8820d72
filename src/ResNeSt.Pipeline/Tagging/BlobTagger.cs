using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResNeSt.Pipeline.Configuration;
using ResNeSt.Pipeline.Diagnostics;
using ResNeSt.Pipeline.Results;

namespace ResNeSt.Pipeline.Tagging;

/// <summary>
/// Writes the top-1 result into blob index tags so that <c>FindBlobsByTags</c> finds images by label, within
/// Azure's rules: at most 10 tags per blob, keys 1–128 and values 0–256 characters of <c>a-z A-Z 0-9 space + - . / : = _</c>.
/// Tags the uploader set are kept; ours replace only our own keys. Only succeeded results are tagged, and none at all
/// when <see cref="PipelineOptions.TaggingEnabled"/> is off.
/// </summary>
public sealed class BlobTagger(IOptions<PipelineOptions> options, ILogger<BlobTagger> logger)
{
    public const string LabelKey = "resnest-label";
    public const string ClassIndexKey = "resnest-class";
    public const string ProbabilityKey = "resnest-probability";
    public const string ModelKey = "resnest-model";

    public const int MaxTags = 10;
    public const int MaxKeyLength = 128;
    public const int MaxValueLength = 256;

    private static readonly string[] s_ourKeys = [LabelKey, ClassIndexKey, ProbabilityKey, ModelKey];

    /// <summary>The tags for a stored result (already sanitised).</summary>
    public static Dictionary<string, string> TagsFor(ResultEntity result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [LabelKey] = SanitizeValue(result.Top1Label ?? ""),
            [ClassIndexKey] = (result.Top1Index ?? -1).ToString(CultureInfo.InvariantCulture),
            [ProbabilityKey] = ((float)(result.Top1Probability ?? 0)).ToString("0.0000", CultureInfo.InvariantCulture),
            [ModelKey] = SanitizeValue(result.ModelVariant ?? ""),
        };
    }

    private readonly bool _enabled = options.Value.TaggingEnabled;

    /// <summary>Whether <paramref name="result"/> gets tags: tagging is on and the result succeeded.</summary>
    public bool Applies(ResultEntity result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return _enabled && result.Status == ResultStatus.Succeeded;
    }

    /// <summary>
    /// Tags a blob whose result was stored by a delivery killed before tagging: tags never change the ETag, so an
    /// untagged version with a result that <see cref="Applies"/> was cut off there.
    /// </summary>
    public async Task RepairAsync(BlobClient blob, string etag, long existingTagCount, ResultEntity result, CancellationToken cancellationToken)
    {
        if (Applies(result) && existingTagCount == 0)
        {
            await TagAsync(blob, etag, 0, result, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sets the tags of <paramref name="result"/> on the blob version it describes, keeping foreign tags. Returns false
    /// (and logs) when the tags could not be written for a reason retrying will not fix: the blob changed or vanished,
    /// or it already carries 10 foreign tags.
    /// </summary>
    public async Task<bool> TagAsync(BlobClient blob, string etag, int existingTagCount, ResultEntity result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var ours = TagsFor(result);
        try
        {
            var conditions = new BlobRequestConditions { IfMatch = new ETag(etag) };
            var merged = new Dictionary<string, string>(StringComparer.Ordinal);
            if (existingTagCount > 0)
            {
                // Set Blob Tags replaces the whole set: read the uploader's tags to keep them (skipped when the properties said none).
                var existing = await blob.GetTagsAsync(conditions, cancellationToken).ConfigureAwait(false);
                foreach (var (key, value) in existing.Value.Tags)
                {
                    if (!s_ourKeys.Contains(key, StringComparer.Ordinal))
                    {
                        merged[key] = value;
                    }
                }
            }

            if (merged.Count + ours.Count > MaxTags)
            {
                PipelineLog.TagsSkippedTooMany(logger, merged.Count);
                return false;
            }

            foreach (var (key, value) in ours)
            {
                merged[key] = value;
            }

            await blob.SetTagsAsync(merged, conditions, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            PipelineLog.TagsSkippedBlobChanged(logger, ex.Status);
            return false;
        }
    }

    /// <summary>Replaces characters tag values may not hold (e.g. the apostrophes of <c>jack-o'-lantern</c>) with <c>_</c> and caps the length.</summary>
    public static string SanitizeValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(Math.Min(value.Length, MaxValueLength));
        foreach (char c in value)
        {
            if (builder.Length == MaxValueLength)
            {
                break;
            }

            builder.Append(IsAllowed(c) ? c : '_');
        }

        return builder.ToString();
    }

    public static bool IsAllowed(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is ' ' or '+' or '-' or '.' or '/' or ':' or '=' or '_';
}
