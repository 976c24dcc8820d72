using OpenTelemetry;
using OpenTelemetry.Logs;

namespace ResNeSt.Functions.Hosting;

/// <summary>
/// Redacts <c>code=</c> query values (<see cref="FunctionKeyRedaction"/>) from every exported log record: its
/// formatted message, its body and its attributes (ASP.NET Core's request log carries the query as an attribute).
/// Registered before the exporter, so the exporter only ever sees the redacted record.
/// </summary>
public sealed class KeyRedactingLogProcessor : BaseProcessor<LogRecord>
{
    public override void OnEnd(LogRecord data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.FormattedMessage is { } message && FunctionKeyRedaction.HasKey(message))
        {
            data.FormattedMessage = FunctionKeyRedaction.Redact(message);
        }

        if (data.Body is { } body && FunctionKeyRedaction.HasKey(body))
        {
            data.Body = FunctionKeyRedaction.Redact(body);
        }

        if (data.Attributes is { Count: > 0 } attributes && attributes.Any(a => FunctionKeyRedaction.HasKey(a.Value?.ToString())))
        {
            data.Attributes = attributes
                .Select(a => FunctionKeyRedaction.HasKey(a.Value?.ToString()) ? new KeyValuePair<string, object?>(a.Key, FunctionKeyRedaction.Redact(a.Value!.ToString()!)) : a)
                .ToList();
        }
    }
}
