using System.Diagnostics.CodeAnalysis;

namespace OneId.WeChat.Ids;

/// <summary>A WeCom customer id: `wm…` (WeChat user) or `wo…` (WeCom user), plain or provider ciphertext (§6.14).</summary>
public readonly record struct ExternalUserId : IWeChatId<ExternalUserId>
{
    private ExternalUserId(string value) => Value = value;

    /// <inheritdoc />
    public string Value { get; }

    /// <inheritdoc />
    public static ExternalUserId Parse(string value) =>
        Validate(value) is { } error ? throw new ArgumentException(error, nameof(value)) : new ExternalUserId(value);

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? value, out ExternalUserId id)
    {
        id = Validate(value) is null ? new ExternalUserId(value!) : default;
        return id.Value is not null;
    }

    public static explicit operator ExternalUserId(string value) => Parse(value);

    public static implicit operator string(ExternalUserId id) => id.Value;

    public override string ToString() => Value ?? string.Empty;

    private static string? Validate(string? value) => WeChatIdRules.Check(value, "external_userid", 128, WeChatIdRules.IdChar);
}
