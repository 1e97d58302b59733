using OneId.WeChat.Ids;

namespace OneId.WeChat.Tokens;

/// <summary>What a token is for. Each kind has its own endpoint and refresh rules (docs/wechat-api.md §1, §5, §6.1).</summary>
public enum TokenKind
{
    /// <summary>An OA / MP / mini game global access_token (stable_token by default, cgi-bin/token optional).</summary>
    App,

    /// <summary>A third-party platform's component_access_token (needs the latest component_verify_ticket).</summary>
    Component,

    /// <summary>An authorizer_access_token a component holds for an authorizer app (needs the persisted authorizer_refresh_token).</summary>
    Authorizer,

    /// <summary>A WeCom access_token for one corp app (each app has its own secret, §6.1).</summary>
    WeCom,
}

/// <summary>
/// Names one token. <see cref="StoreKey"/> is the key in the shared store, so it must be the same in every OneId process.
/// </summary>
public sealed record TokenKey
{
    private TokenKey(TokenKind kind, string id, string? subId)
    {
        Kind = kind;
        Id = id;
        SubId = subId;
    }

    public TokenKind Kind { get; }

    /// <summary>The appid, component appid or corpid.</summary>
    public string Id { get; }

    /// <summary>The authorizer appid, or the WeCom app name (agentid or a label such as "contact"); otherwise null.</summary>
    public string? SubId { get; }

    /// <summary>The global access_token of an OA / MP.</summary>
    public static TokenKey App(AppId appId) => new(TokenKind.App, appId.Value, null);

    /// <summary>The component_access_token of a third-party platform.</summary>
    public static TokenKey Component(AppId componentAppId) => new(TokenKind.Component, componentAppId.Value, null);

    /// <summary>The authorizer_access_token that <paramref name="componentAppId"/> holds for <paramref name="authorizerAppId"/>.</summary>
    public static TokenKey Authorizer(AppId componentAppId, AppId authorizerAppId) =>
        new(TokenKind.Authorizer, componentAppId.Value, authorizerAppId.Value);

    /// <summary>The access_token of one WeCom app, named by <paramref name="agent"/> (the agentid, or "contact" for the 客户联系 secret).</summary>
    public static TokenKey WeCom(CorpId corpId, string agent)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(agent);
        if (agent.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException("The WeCom app name must not contain ':'.", nameof(agent));
        }
        return new(TokenKind.WeCom, corpId.Value, agent);
    }

    /// <summary>Parses a <see cref="StoreKey"/>.</summary>
    public static TokenKey Parse(string storeKey)
    {
        ArgumentNullException.ThrowIfNull(storeKey);
        var parts = storeKey.Split(':');
        return (parts[0], parts.Length) switch
        {
            ("app", 2) => App(AppId.Parse(parts[1])),
            ("component", 2) => Component(AppId.Parse(parts[1])),
            ("authorizer", 3) => Authorizer(AppId.Parse(parts[1]), AppId.Parse(parts[2])),
            ("wecom", 3) => WeCom(CorpId.Parse(parts[1]), parts[2]),
            _ => throw new FormatException($"'{storeKey}' is not a token key (app:<appid>, component:<appid>, authorizer:<component>:<appid>, wecom:<corpid>:<agent>)."),
        };
    }

    /// <summary>The key in the shared token store, such as <c>app:wx4f4bc4dec97d474b</c>.</summary>
    public string StoreKey => Kind switch
    {
        TokenKind.App => $"app:{Id}",
        TokenKind.Component => $"component:{Id}",
        TokenKind.Authorizer => $"authorizer:{Id}:{SubId}",
        TokenKind.WeCom => $"wecom:{Id}:{SubId}",
        _ => throw new InvalidOperationException(),
    };

    public override string ToString() => StoreKey;
}

/// <summary>
/// An access token with its lifetime. <see cref="ToString"/> never shows the value: tokens are logged only as
/// <see cref="Fingerprint"/>, a short SHA-256 prefix.
/// </summary>
public sealed record AccessToken(string Value, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt)
{
    /// <summary>A short, non-reversible correlation id for logs.</summary>
    public string Fingerprint => SecretFingerprint.Of(Value);

    public override string ToString() => $"AccessToken(#{Fingerprint}, expires {ExpiresAt:O})";
}

/// <summary>Short SHA-256 prefixes for correlating secrets in logs without revealing them.</summary>
public static class SecretFingerprint
{
    public static string Of(string? secret) => string.IsNullOrEmpty(secret)
        ? "-"
        : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)))[..8];
}
