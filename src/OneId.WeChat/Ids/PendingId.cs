using System.Diagnostics.CodeAnalysis;

namespace OneId.WeChat.Ids;

/// <summary>A WeCom pending_id for a unionid that is not yet a customer; valid 90 days. Format unconfirmed (§8), so only basic checks.</summary>
public readonly record struct PendingId : IWeChatId<PendingId>
{
    private PendingId(string value) => Value = value;

    /// <inheritdoc />
    public string Value { get; }

    /// <inheritdoc />
    public static PendingId Parse(string value) =>
        Validate(value) is { } error ? throw new ArgumentException(error, nameof(value)) : new PendingId(value);

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? value, out PendingId id)
    {
        id = Validate(value) is null ? new PendingId(value!) : default;
        return id.Value is not null;
    }

    public static explicit operator PendingId(string value) => Parse(value);

    public static implicit operator string(PendingId id) => id.Value;

    public override string ToString() => Value ?? string.Empty;

    private static string? Validate(string? value) => WeChatIdRules.Check(value, "pending_id", 128, WeChatIdRules.Visible);
}
