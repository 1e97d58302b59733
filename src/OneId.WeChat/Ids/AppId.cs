using System.Diagnostics.CodeAnalysis;

namespace OneId.WeChat.Ids;

/// <summary>An app id (OA, MP, mini game, website, mobile or component): `wx` + 16 characters (docs/wechat-api.md §8).</summary>
public readonly record struct AppId : IWeChatId<AppId>
{
    private AppId(string value) => Value = value;

    /// <inheritdoc />
    public string Value { get; }

    /// <inheritdoc />
    public static AppId Parse(string value) =>
        Validate(value) is { } error ? throw new ArgumentException(error, nameof(value)) : new AppId(value);

    /// <inheritdoc />
    public static bool TryParse([NotNullWhen(true)] string? value, out AppId id)
    {
        id = Validate(value) is null ? new AppId(value!) : default;
        return id.Value is not null;
    }

    public static explicit operator AppId(string value) => Parse(value);

    public static implicit operator string(AppId id) => id.Value;

    public override string ToString() => Value ?? string.Empty;

    private static string? Validate(string? value) => WeChatIdRules.Check(value, "appid", 18, char.IsAsciiLetterOrDigit, prefix: "wx", exactLength: 18);
}
