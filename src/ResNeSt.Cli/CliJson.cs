using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace ResNeSt.Cli;

/// <summary>
/// JSON for a terminal and for files: the contexts' own options with an encoder that leaves characters like <c>'</c>
/// alone (the default escapes them as <c>\u0027</c> for HTML embedding, so "potter's wheel" became unreadable).
/// </summary>
internal static class CliJson
{
    public static string Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var options = Readable(typeInfo.Options);
        return JsonSerializer.Serialize(value, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)));
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<JsonSerializerOptions, JsonSerializerOptions> s_readable = [];

    private static JsonSerializerOptions Readable(JsonSerializerOptions source) =>
        s_readable.GetValue(source, o => new JsonSerializerOptions(o) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
