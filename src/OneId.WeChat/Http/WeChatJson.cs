using System.Text.Json;
using System.Text.Json.Serialization;
using OneId.WeChat.Ids;

namespace OneId.WeChat.Http;

/// <summary>JSON settings for WeChat answers: lenient numbers, 0/1 booleans, id value types.</summary>
public static class WeChatJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            NumberHandling = JsonNumberHandling.AllowReadingFromString,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // WeChat's JSON carries Chinese text; keep it readable rather than \u-escaped (the bodies are not HTML).
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new NumericBooleanConverter());
        options.Converters.Add(new StringOrNumberConverter());
        options.Converters.Add(new WeChatIdJsonConverterFactory());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

/// <summary>Reads <c>0</c>/<c>1</c> (or true/false, "0"/"1") as a boolean: <c>subscribe</c>, <c>is_snapshotuser</c> (§0.1).</summary>
public sealed class NumericBooleanConverter : JsonConverter<bool>
{
    public override bool Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.Number => reader.GetInt64() != 0,
        JsonTokenType.String => reader.GetString() is "1" or "true" or "True",
        JsonTokenType.Null => false,
        _ => throw new JsonException("Expected a boolean or 0/1."),
    };

    public override void Write(Utf8JsonWriter writer, bool value, JsonSerializerOptions options) => writer.WriteBooleanValue(value);
}

/// <summary>
/// Reads a string that WeChat sometimes sends as a number: getuserphonenumber's <c>countryCode</c> is typed string but the
/// doc sample shows <c>86</c> (§4.6). Registered for every string, which costs nothing and tolerates similar drift.
/// </summary>
public sealed class StringOrNumberConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => reader.TryGetInt64(out var l) ? l.ToString(System.Globalization.CultureInfo.InvariantCulture) : reader.GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
        JsonTokenType.Null => null,
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => throw new JsonException("Expected a string."),
    };

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
