using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OneId.WeChat.Ids;

/// <summary>A validated WeChat / WeCom identifier. Values are case-sensitive and never re-cased (docs/wechat-api.md §6.14).</summary>
public interface IWeChatId<TSelf> where TSelf : struct, IWeChatId<TSelf>
{
    /// <summary>The identifier exactly as WeChat issued it.</summary>
    string Value { get; }

    /// <summary>Validates and wraps <paramref name="value"/>; throws <see cref="ArgumentException"/> with the reason.</summary>
    static abstract TSelf Parse(string value);

    /// <summary>Validates <paramref name="value"/> without throwing.</summary>
    static abstract bool TryParse([NotNullWhen(true)] string? value, out TSelf id);
}

/// <summary>
/// Shared validation of the wire shape: not blank, bounded length, WeChat's character set. Which values are refused as
/// placeholders ("null", "undefined", "0") is the graph's rule alone, applied where a WeChat value becomes an identifier.
/// </summary>
internal static class WeChatIdRules
{
    public static string? Check(string? value, string kind, int maxLength, Func<char, bool> allowed, string? prefix = null, int? exactLength = null)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return $"{kind} is empty.";
        }
        if (value.Length > maxLength)
        {
            return $"{kind} is {value.Length} characters; at most {maxLength} are expected.";
        }
        if (exactLength is { } n && value.Length != n)
        {
            return $"{kind} '{value}' must be {n} characters.";
        }
        if (prefix is not null && !value.StartsWith(prefix, StringComparison.Ordinal))
        {
            return $"{kind} '{value}' must start with '{prefix}'.";
        }
        foreach (var c in value)
        {
            if (!allowed(c))
            {
                return $"{kind} '{value}' contains '{c}', which WeChat never issues in a {kind}.";
            }
        }
        return null;
    }

    public static bool IdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    public static bool Visible(char c) => c > ' ' && c < 0x7f;
}

/// <summary>
/// JSON support for every <see cref="IWeChatId{TSelf}"/>: a string on the wire. For nullable properties an empty string or
/// null reads as null, since WeChat sends <c>"unionid":""</c> in some answers when there is none.
/// </summary>
public sealed class WeChatIdJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => IdType(typeToConvert) is not null;

    public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options)
    {
        var id = IdType(typeToConvert)!;
        var nullable = Nullable.GetUnderlyingType(typeToConvert) is not null;
        var converter = nullable ? typeof(NullableConverter<>) : typeof(Converter<>);
        return (JsonConverter)Activator.CreateInstance(converter.MakeGenericType(id))!;
    }

    private static Type? IdType(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsValueType && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IWeChatId<>)) ? t : null;
    }

    private sealed class Converter<T> : JsonConverter<T> where T : struct, IWeChatId<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var s = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw new JsonException($"Expected a string for {typeof(T).Name}.");
            return T.TryParse(s, out var id) ? id : throw new JsonException($"'{s}' is not a valid {typeof(T).Name}.");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
    }

    private sealed class NullableConverter<T> : JsonConverter<T?> where T : struct, IWeChatId<T>
    {
        public override bool HandleNull => true;

        public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                return null;
            }
            var s = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw new JsonException($"Expected a string for {typeof(T).Name}.");
            if (string.IsNullOrEmpty(s))
            {
                return null;
            }
            return T.TryParse(s, out var id) ? id : throw new JsonException($"'{s}' is not a valid {typeof(T).Name}.");
        }

        public override void Write(Utf8JsonWriter writer, T? value, JsonSerializerOptions options)
        {
            if (value is { } v)
            {
                writer.WriteStringValue(v.Value);
            }
            else
            {
                writer.WriteNullValue();
            }
        }
    }
}
