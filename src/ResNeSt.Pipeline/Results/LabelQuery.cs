using System.Globalization;

namespace ResNeSt.Pipeline.Results;

/// <summary>
/// A validated <c>GET /api/results?label=&amp;minProbability=&amp;top=&amp;continuationToken=</c>. The label must be one of the
/// model's class names (so no OData fragment can even reach the filter builder); numbers must parse invariantly and lie
/// in range; the token must be one this API issued.
/// </summary>
public sealed record LabelQuery(string Label, double MinProbability, int Top, string? ContinuationToken)
{
    public const int DefaultTop = 50;
    public const int MaxTop = 1000;

    public static bool TryParse(
        IReadOnlyList<string> classNames,
        string? label,
        string? minProbability,
        string? top,
        string? continuationToken,
        out LabelQuery? query,
        out string? error)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        query = null;
        if (string.IsNullOrWhiteSpace(label))
        {
            error = "Query parameter 'label' is required (an ImageNet class name, e.g. 'golden retriever').";
            return false;
        }

        var known = classNames.FirstOrDefault(c => string.Equals(c, label, StringComparison.OrdinalIgnoreCase));
        if (known is null)
        {
            error = "Query parameter 'label' must be one of the model's class names.";
            return false;
        }

        double min = 0;
        if (!string.IsNullOrEmpty(minProbability)
            && (!double.TryParse(minProbability, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out min) || min is < 0 or > 1))
        {
            error = "Query parameter 'minProbability' must be a decimal number between 0 and 1.";
            return false;
        }

        int count = DefaultTop;
        if (!string.IsNullOrEmpty(top)
            && (!int.TryParse(top, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxTop))
        {
            error = $"Query parameter 'top' must be an integer between 1 and {MaxTop}.";
            return false;
        }

        if (continuationToken is not null)
        {
            try
            {
                ContinuationTokenCodec.Decode(continuationToken);
            }
            catch (FormatException ex)
            {
                error = ex.Message;
                return false;
            }
        }

        query = new LabelQuery(known, min, count, continuationToken);
        error = null;
        return true;
    }
}
