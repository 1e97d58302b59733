using System.Diagnostics.CodeAnalysis;

namespace OneId.WeChat.Ids;

/// <summary>A user's id within one app (`o…`, usually 28 characters; length not enforced, §8).</summary>
public readonly record struct OpenId : IWeChatId<OpenId>
{
    private OpenId(string value) => Value = value;

    /// <inheritdoc />
    public string Value { get; }

    /// <inheritdoc />
    public static OpenId Parse(string value) =>
        Validate(value) is { } error ? throw new ArgumentException(error, nameof(value)) : new OpenId(value);

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? value, out OpenId id)
    {
        id = Validate(value) is null ? new OpenId(value!) : default;
        return id.Value is not null;
    }

    public static explicit operator OpenId(string value) => Parse(value);

    public static implicit operator string(OpenId id) => id.Value;

    public override string ToString() => Value ?? string.Empty;

    private static string? Validate(string? value) => WeChatIdRules.Check(value, "openid", 64, WeChatIdRules.IdChar);
}
