using System.Diagnostics.CodeAnalysis;

namespace OneId.WeChat.Ids;

/// <summary>A WeCom corp id: plain `ww…`/`wx…` (18 characters) or provider-encrypted `wp…` (case-sensitive, §6.14).</summary>
public readonly record struct CorpId : IWeChatId<CorpId>
{
    private CorpId(string value) => Value = value;

    /// <inheritdoc />
    public string Value { get; }

    /// <inheritdoc />
    public static CorpId Parse(string value) =>
        Validate(value) is { } error ? throw new ArgumentException(error, nameof(value)) : new CorpId(value);

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? value, out CorpId id)
    {
        id = Validate(value) is null ? new CorpId(value!) : default;
        return id.Value is not null;
    }

    public static explicit operator CorpId(string value) => Parse(value);

    public static implicit operator string(CorpId id) => id.Value;

    public override string ToString() => Value ?? string.Empty;

    private static string? Validate(string? value) => WeChatIdRules.Check(value, "corpid", 64, WeChatIdRules.IdChar);
}
