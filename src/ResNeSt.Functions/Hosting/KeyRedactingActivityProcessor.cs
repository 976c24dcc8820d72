using System.Diagnostics;
using OpenTelemetry;

namespace ResNeSt.Functions.Hosting;

/// <summary>
/// Redacts <c>code=</c> query values (<see cref="FunctionKeyRedaction"/>) from the string tags of every exported span
/// (<c>url.full</c>, <c>url.query</c>, <c>http.target</c>, <c>http.url</c> and any other), and from its name.
/// Registered before the exporter.
/// </summary>
public sealed class KeyRedactingActivityProcessor : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (FunctionKeyRedaction.HasKey(data.DisplayName))
        {
            data.DisplayName = FunctionKeyRedaction.Redact(data.DisplayName);
        }

        List<KeyValuePair<string, string>>? redacted = null;
        foreach (var (key, value) in data.TagObjects)
        {
            if (value is not null && FunctionKeyRedaction.HasKey(value.ToString()))
            {
                (redacted ??= []).Add(new(key, FunctionKeyRedaction.Redact(value.ToString()!)));
            }
        }

        foreach (var (key, value) in redacted ?? [])
        {
            data.SetTag(key, value);
        }
    }
}
