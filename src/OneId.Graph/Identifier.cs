using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace OneId.Graph;

/// <summary>
/// One identifier of a person, written <c>type:namespace:value</c>, e.g. <c>openid:wx4f4bc4dec97d474b:oGZU…</c>.
/// Values are case-sensitive and never re-cased: WeCom ciphertext ids differ only by case (docs/wechat-api.md §6.14).
/// </summary>
public readonly partial record struct Identifier
{
    // The text form is computed once: it is the key in every store, dictionary and comparison on the import path.
    private readonly string _text;

    private Identifier(IdentifierType type, string ns, string value, string? text = null)
    {
        Type = type;
        Namespace = ns;
        Value = value;
        _text = text ?? string.Concat(type.Name, ":", ns, ":", value);
    }

    public IdentifierType Type { get; }

    /// <summary>The app, union space, corp (or corp/provider) or account system that issued the value; empty for phones.</summary>
    public string Namespace { get; }

    public string Value { get; }

    /// <summary>Exclusive identifiers merge persons and a person holds at most one per namespace; weak ones only attach.</summary>
    public bool IsExclusive => Type.IsExclusive;

    /// <summary>Who may see it (docs/wechat-api.md §11.1): phone numbers are private data, every other identifier is internal.</summary>
    public DataTier Tier => Type == IdentifierType.Phone ? DataTier.Private : DataTier.Internal;

    public override string ToString() => _text ?? "";

    public bool Equals(Identifier other) => string.Equals(_text, other._text, StringComparison.Ordinal);

    public override int GetHashCode() => (_text ?? "").GetHashCode(StringComparison.Ordinal);

    public static Identifier Parse(string text) =>
        TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    /// <summary>
    /// Rebuilds an identifier a store wrote earlier, without the shape checks: it was validated on the way in, and
    /// re-validating millions of stored ids would dominate bulk reads.
    /// </summary>
    public static Identifier FromStored(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = text.IndexOf(':', StringComparison.Ordinal);
        var second = text.IndexOf(':', first + 1);
        return new Identifier(IdentifierType.FromName(text.AsSpan(0, first)), text[(first + 1)..second], text[(second + 1)..], text);
    }

    public static Identifier Create(IdentifierType type, string ns, string value) =>
        TryCreate(type, ns, value, out var id, out var error) ? id : throw new FormatException(error);

    /// <summary>Parses <c>type:namespace:value</c>. The value may itself contain ':'; the first two separate.</summary>
    public static bool TryParse(string? text, out Identifier identifier, [NotNullWhen(false)] out string? error)
    {
        identifier = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "identifier is empty; expected type:namespace:value";
            return false;
        }
        var first = text.IndexOf(':', StringComparison.Ordinal);
        var second = first < 0 ? -1 : text.IndexOf(':', first + 1);
        if (second < 0)
        {
            error = $"'{Shorten(text)}' is not type:namespace:value";
            return false;
        }
        if (!IdentifierType.TryFromName(text.AsSpan(0, first), out var type))
        {
            error = $"unknown identifier type '{Shorten(text[..first])}' (known: {string.Join(", ", IdentifierType.All.Select(t => t.Name))})";
            return false;
        }
        // The text is already type:namespace:value: it becomes the identifier's text form instead of a second copy.
        return TryCreate(type, text[(first + 1)..second], text[(second + 1)..], text, out identifier, out error);
    }

    public static bool TryCreate(IdentifierType type, string? ns, string? value, out Identifier identifier, [NotNullWhen(false)] out string? error) =>
        TryCreate(type, ns, value, null, out identifier, out error);

    private static bool TryCreate(IdentifierType type, string? ns, string? value, string? text, out Identifier identifier, [NotNullWhen(false)] out string? error)
    {
        identifier = default;
        ns ??= "";
        if (IsBlocked(value))
        {
            error = $"{type.Name} value '{value}' is blocked (empty, whitespace, null, undefined or 0 are never identifiers)";
            return false;
        }
        if (!type.NamespaceShape.IsMatch(ns))
        {
            error = $"{type.Name} namespace '{Shorten(ns)}' is not {type.NamespaceDescription}";
            return false;
        }
        if (!type.ValueShape.IsMatch(value!))
        {
            error = $"{type.Name} value '{Shorten(value!)}' is not {type.ValueDescription}";
            return false;
        }
        identifier = new Identifier(type, ns, value!, text);
        error = null;
        return true;
    }

    /// <summary>
    /// Values that broken clients send in place of an id. Linking on them would merge every person who
    /// hit the same bug into one, so they are refused outright.
    /// </summary>
    private static bool IsBlocked([NotNullWhen(false)] string? value) =>
        string.IsNullOrWhiteSpace(value)
        || value.Equals("null", StringComparison.OrdinalIgnoreCase)
        || value.Equals("undefined", StringComparison.OrdinalIgnoreCase)
        || value == "0";

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";
}

/// <summary>The kinds of identifier the graph knows, with their shape checks and whether they merge persons.</summary>
public sealed partial class IdentifierType : IEquatable<IdentifierType>
{
    // openid / unionid: 28 chars in practice (docs/wechat-api.md §8); accept 6–64 of the same charset so that
    // legacy imports and hand-made test ids pass, while junk like "oAbC …" with spaces does not.
    [GeneratedRegex("^[A-Za-z0-9_-]{6,64}$")] private static partial Regex WeChatIdShape();
    // appid: "wx" + 16 lowercase hex (§8).
    [GeneratedRegex("^wx[0-9a-f]{16}$")] private static partial Regex AppIdShape();
    // A union space, account system or similar name chosen by the company.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] private static partial Regex NameShape();
    // A WeCom corp namespace: the corpid (plain ww…/wx… or ciphertext wp…), optionally "/provider" for
    // service-provider ciphertext ids, which differ per (corp, provider) (§6.14).
    [GeneratedRegex("^[A-Za-z0-9_-]{4,64}(/[A-Za-z0-9_.-]{1,64})?$")] private static partial Regex CorpShape();
    [GeneratedRegex("^[A-Za-z0-9_-]{4,128}$")] private static partial Regex CorpIdValueShape();
    [GeneratedRegex(@"^[^\s\p{C}](.{0,254}[^\s\p{C}])?$")] private static partial Regex AccountShape();
    [GeneratedRegex(@"^\+?[0-9]{5,20}$")] private static partial Regex PhoneShape();
    [GeneratedRegex("^$")] private static partial Regex Empty();

    public static readonly IdentifierType OpenId = new("openid", true, AppIdShape(), "an appid (wx + 16 lowercase hex)", WeChatIdShape(), "6–64 of [A-Za-z0-9_-]");
    public static readonly IdentifierType UnionId = new("unionid", true, NameShape(), "a union space name ([A-Za-z0-9_.-], up to 64)", WeChatIdShape(), "6–64 of [A-Za-z0-9_-]");
    public static readonly IdentifierType ExternalUserId = new("external_userid", true, CorpShape(), "a corpid, optionally corpid/provider", CorpIdValueShape(), "4–128 of [A-Za-z0-9_-]");
    public static readonly IdentifierType PendingId = new("pending_id", true, CorpShape(), "a corpid, optionally corpid/provider", CorpIdValueShape(), "4–128 of [A-Za-z0-9_-]");
    public static readonly IdentifierType Account = new("account", true, NameShape(), "an account-system name ([A-Za-z0-9_.-], up to 64)", AccountShape(), "1–256 printable characters without surrounding spaces");
    public static readonly IdentifierType Phone = new("phone", false, Empty(), "empty (write phone::+8613800000000)", PhoneShape(), "a phone number: optional + and 5–20 digits");

    public static IReadOnlyList<IdentifierType> All { get; } = [OpenId, UnionId, ExternalUserId, PendingId, Account, Phone];

    private IdentifierType(string name, bool exclusive, Regex ns, string nsDescription, Regex value, string valueDescription)
    {
        Name = name;
        IsExclusive = exclusive;
        NamespaceShape = ns;
        NamespaceDescription = nsDescription;
        ValueShape = value;
        ValueDescription = valueDescription;
    }

    public string Name { get; }
    public bool IsExclusive { get; }
    internal Regex NamespaceShape { get; }
    internal string NamespaceDescription { get; }
    internal Regex ValueShape { get; }
    internal string ValueDescription { get; }

    public static bool TryFromName(string name, [NotNullWhen(true)] out IdentifierType? type) => TryFromName(name.AsSpan(), out type);

    /// <summary>The type named by a slice of a longer text, without copying it out.</summary>
    public static bool TryFromName(ReadOnlySpan<char> name, [NotNullWhen(true)] out IdentifierType? type)
    {
        type = name switch
        {
            "openid" => OpenId,
            "unionid" => UnionId,
            "external_userid" => ExternalUserId,
            "pending_id" => PendingId,
            "account" => Account,
            "phone" => Phone,
            _ => null,
        };
        return type is not null;
    }

    public static IdentifierType FromName(ReadOnlySpan<char> name) =>
        TryFromName(name, out var t) ? t : throw new FormatException($"unknown identifier type '{name}'");

    public bool Equals(IdentifierType? other) => ReferenceEquals(this, other);
    public override bool Equals(object? obj) => ReferenceEquals(this, obj);
    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);
    public override string ToString() => Name;
}
