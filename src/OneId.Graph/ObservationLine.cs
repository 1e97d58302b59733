using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;

namespace OneId.Graph;

/// <summary>
/// One observation as a JSON object, the unit of <c>oneid import</c> files (JSON Lines):
/// <c>{"ids":["openid:wx…:o…","unionid:acme:o…"],"source":"crm","at":"2024-05-01T10:00:00Z","profile":{"nickname":"…"}}</c>.
/// <c>source</c>, <c>at</c> and <c>profile</c> are optional.
/// </summary>
public static class ObservationLine
{
    public const string DefaultSource = "import";

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
            error = "not valid JSON: " + FirstSentence(e.Message);
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
        if (root.TryGetProperty("at", out var a) && a.ValueKind != JsonValueKind.Null)
        {
            if (a.ValueKind != JsonValueKind.String
                || !DateTimeOffset.TryParse(a.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at))
            {
                error = "\"at\" must be an ISO 8601 time such as 2024-05-01T10:00:00Z";
                return false;
            }
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

        observation = new Observation(ids, source, at, profile);
        error = null;
        return true;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
