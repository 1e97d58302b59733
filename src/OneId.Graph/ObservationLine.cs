using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace OneId.Graph;

/// <summary>
/// One observation as a JSON object, the unit of <c>oneid import</c> files (JSON Lines):
/// <c>{"ids":["openid:wx…:o…","unionid:acme:o…"],"source":"crm","at":"2024-05-01T10:00:00Z","profile":{"nickname":"…"}}</c>.
/// <c>id</c>, <c>source</c>, <c>at</c>, <c>profile</c> and <c>replaces</c> are optional. <c>replaces</c> maps a new
/// identifier (one of <c>ids</c>) to the old one it replaces (docs/model.md §3.9):
/// <c>{"ids":["external_userid:ww…/isv1:wmNEW…"],"replaces":{"external_userid:ww…/isv1:wmNEW…":"external_userid:ww…/isv1:wmOLD…"}}</c>.
/// </summary>
/// <remarks>
/// Every line has an identity, its <see cref="Observation.Key"/>, so that a file run twice (or re-run after a crash
/// midway) applies each observation once: <c>id:</c> + the line's <c>"id"</c> when it has one, else <c>sha256:</c> + the
/// hash of its canonical content (ids sorted, <c>replaces</c> sorted, source, <c>at</c> as given, profile sorted by
/// name). A line without <c>at</c> hashes without it, so that "now" does not make a re-run look new. The same rule
/// serves <c>POST /v1/observations</c>: a retried request is the same observation.
/// </remarks>
public static class ObservationLine
{
    public const string DefaultSource = "import";

    /// <summary>The longest <c>"id"</c> a line may carry.</summary>
    public const int MaxIdLength = 200;

    public static bool TryParse(ReadOnlySpan<byte> utf8Json, DateTimeOffset now, [NotNullWhen(true)] out Observation? observation, [NotNullWhen(false)] out string? error)
    {
        observation = null;
        try
        {
            using var doc = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
            return TryRead(doc.RootElement, now, out observation, out error);
        }
        catch (JsonException e)
        {
            // The parser's message may quote the offending bytes; say where instead when they are not plain text.
            var reason = FirstSentence(e.Message);
            error = reason.Length <= 160 && reason.All(c => c is >= ' ' and <= '~')
                ? "not valid JSON: " + reason
                : $"not valid JSON (at byte {(e.BytePositionInLine ?? 0) + 1})";
            return false;
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json reads a string with invalid UTF-8 inside it only when asked for its value.
            error = "not valid UTF-8";
            return false;
        }
    }

    public static bool TryRead(JsonElement root, DateTimeOffset now, [NotNullWhen(true)] out Observation? observation, [NotNullWhen(false)] out string? error)
    {
        observation = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "expected a JSON object with \"ids\"";
            return false;
        }
        if (!root.TryGetProperty("ids", out var idsElement) || idsElement.ValueKind != JsonValueKind.Array || idsElement.GetArrayLength() == 0)
        {
            error = "\"ids\" must be a non-empty array of \"type:namespace:value\" strings";
            return false;
        }
        string? givenId = null;
        if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
        {
            givenId = idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
            if (string.IsNullOrWhiteSpace(givenId) || givenId.Length > MaxIdLength || givenId.Any(char.IsControl))
            {
                error = $"\"id\" must be a non-empty string of at most {MaxIdLength} characters without control characters";
                return false;
            }
        }

        var ids = new List<Identifier>(idsElement.GetArrayLength());
        foreach (var item in idsElement.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                error = "\"ids\" must hold strings";
                return false;
            }
            if (!Identifier.TryParse(item.GetString(), out var id, out var idError))
            {
                error = idError;
                return false;
            }
            ids.Add(id);
        }

        var source = DefaultSource;
        if (root.TryGetProperty("source", out var s) && s.ValueKind != JsonValueKind.Null)
        {
            if (s.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(s.GetString()) || s.GetString()!.Length > 100)
            {
                error = "\"source\" must be a non-empty string of at most 100 characters";
                return false;
            }
            source = s.GetString()!;
        }

        var at = now;
        var atGiven = false;
        if (root.TryGetProperty("at", out var a) && a.ValueKind != JsonValueKind.Null)
        {
            atGiven = true;
            if (a.ValueKind != JsonValueKind.String
                || !DateTimeOffset.TryParse(a.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at))
            {
                error = "\"at\" must be an ISO 8601 time such as 2024-05-01T10:00:00Z";
                return false;
            }
        }

        var replaces = new List<Replacement>();
        if (root.TryGetProperty("replaces", out var r) && r.ValueKind != JsonValueKind.Null && !TryReadReplaces(r, ids, replaces, out error))
        {
            return false;
        }

        var profile = new List<ProfileAttribute>();
        if (root.TryGetProperty("profile", out var p) && p.ValueKind != JsonValueKind.Null)
        {
            if (p.ValueKind != JsonValueKind.Object)
            {
                error = "\"profile\" must be an object of attribute names to values";
                return false;
            }
            foreach (var attribute in p.EnumerateObject())
            {
                var value = attribute.Value.ValueKind switch
                {
                    JsonValueKind.String => attribute.Value.GetString(),
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => attribute.Value.GetRawText(),
                    JsonValueKind.Null => null,
                    _ => "\u0000",
                };
                if (value == "\u0000")
                {
                    error = $"profile attribute \"{attribute.Name}\" must be a string, number or boolean";
                    return false;
                }
                if (value is not null)
                {
                    profile.Add(ProfilePolicy.Attribute(attribute.Name, value));
                }
            }
        }

        observation = new Observation(ids, source, at, profile, replaces)
        {
            Key = givenId is not null ? "id:" + givenId : ContentKey(ids, replaces, source, atGiven ? at : null, profile),
        };
        error = null;
        return true;
    }

    private const string ReplacesShape = "\"replaces\" must be an object mapping each new identifier (one of \"ids\") to the old identifier it replaces, e.g. {\"openid:wxNEW…:o…\":\"openid:wxOLD…:o…\"}";

    private static bool TryReadReplaces(JsonElement element, List<Identifier> ids, List<Replacement> replaces, [NotNullWhen(false)] out string? error)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            error = ReplacesShape;
            return false;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in element.EnumerateObject())
        {
            if (!seen.Add(pair.Name))
            {
                error = $"\"replaces\" names {Shorten(pair.Name)} twice";
                return false;
            }
            if (pair.Value.ValueKind != JsonValueKind.String)
            {
                error = ReplacesShape;
                return false;
            }
            if (!Identifier.TryParse(pair.Name, out var @new, out var newError))
            {
                error = "\"replaces\" key: " + newError;
                return false;
            }
            if (!Identifier.TryParse(pair.Value.GetString(), out var old, out var oldError))
            {
                error = "\"replaces\" value: " + oldError;
                return false;
            }
            if (!ids.Contains(@new))
            {
                error = $"\"replaces\" key {Shorten(pair.Name)} must also be in \"ids\" (the map goes from new to old)";
                return false;
            }
            replaces.Add(new Replacement(old, @new));
        }
        error = replaces.Count == 0 ? null : Replacement.Check(replaces, ids);
        return error is null;
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    /// <summary><c>sha256:</c> + hex of the canonical JSON of what the line says.</summary>
    private static string ContentKey(List<Identifier> ids, List<Replacement> replaces, string source, DateTimeOffset? at, List<ProfileAttribute> profile)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("ids");
            foreach (var id in ids.Select(i => i.ToString()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                w.WriteStringValue(id);
            }
            w.WriteEndArray();
            if (replaces.Count > 0)
            {
                // [new, old] pairs by new: the same map in any key order is the same observation.
                w.WriteStartArray("replaces");
                foreach (var replacement in replaces.OrderBy(x => x.New.ToString(), StringComparer.Ordinal))
                {
                    w.WriteStartArray();
                    w.WriteStringValue(replacement.New.ToString());
                    w.WriteStringValue(replacement.Old.ToString());
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            }
            w.WriteString("source", source);
            if (at is { } t)
            {
                // Milliseconds, as stored: two spellings of one instant are one observation.
                w.WriteNumber("at", t.ToUnixTimeMilliseconds());
            }
            w.WriteStartArray("profile");
            foreach (var attribute in profile.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal))
            {
                w.WriteStartArray();
                w.WriteStringValue(attribute.Name);
                w.WriteStringValue(attribute.Value);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
