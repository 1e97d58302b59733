using System.Diagnostics.CodeAnalysis;

namespace OneId.WeChat.Ids;

/// <summary>A WeCom member's userid (an employee, never a customer), plain or open_userid.</summary>
public readonly record struct WeComUserId : IWeChatId<WeComUserId>
{
    private WeComUserId(string value) => Value = value;

    /// <inheritdoc />
    public string Value { get; }

    /// <inheritdoc />
    public static WeComUserId Parse(string value) =>
        Validate(value) is { } error ? throw new ArgumentException(error, nameof(value)) : new WeComUserId(value);

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? value, out WeComUserId id)
    {
        id = Validate(value) is null ? new WeComUserId(value!) : default;
        return id.Value is not null;
    }

    public static explicit operator WeComUserId(string value) => Parse(value);

    public static implicit operator string(WeComUserId id) => id.Value;

    public override string ToString() => Value ?? string.Empty;

    private static string? Validate(string? value) => WeChatIdRules.Check(value, "userid", 128, WeChatIdRules.Visible);
}
