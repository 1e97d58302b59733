using System.Diagnostics.CodeAnalysis;

namespace OneId.WeChat.Ids;

/// <summary>A user's id within one Open Platform account (union space), usually 28 characters (§8).</summary>
public readonly record struct UnionId : IWeChatId<UnionId>
{
    private UnionId(string value) => Value = value;

    /// <inheritdoc />
    public string Value { get; }

    /// <inheritdoc />
    public static UnionId Parse(string value) =>
        Validate(value) is { } error ? throw new ArgumentException(error, nameof(value)) : new UnionId(value);

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? value, out UnionId id)
    {
        id = Validate(value) is null ? new UnionId(value!) : default;
        return id.Value is not null;
    }

    public static explicit operator UnionId(string value) => Parse(value);

    public static implicit operator string(UnionId id) => id.Value;

    public override string ToString() => Value ?? string.Empty;

    private static string? Validate(string? value) => WeChatIdRules.Check(value, "unionid", 64, WeChatIdRules.IdChar);
}
