using OneId.Graph;
using OneId.Server.Configuration;
using OneId.WeChat.Ids;

namespace OneId.Server.Application;

/// <summary>
/// The one conversion from WeChat's value types to the graph's identifiers, in the tenant's namespaces. The graph
/// decides what a valid identifier is (shapes and blocked values such as "null", "undefined", "0"): a value WeChat
/// sent that the graph refuses throws <see cref="FormatException"/>, which the hub answers as WeChat's fault (502).
/// </summary>
public static class WeChatIdentifiers
{
    /// <summary>An openid lives in its app's namespace: openids of one person differ per app.</summary>
    public static Identifier OpenId(string appId, OpenId openId) => Identifier.Create(IdentifierType.OpenId, appId, openId.Value);

    /// <summary>The unionid in the app's union space; null when there is none or the app is not bound (WeChat then sends none anyway).</summary>
    public static Identifier? UnionId(AppOptions app, UnionId? unionId)
    {
        ArgumentNullException.ThrowIfNull(app);
        return UnionId(app.UnionSpace, unionId);
    }

    /// <summary>The unionid in <paramref name="unionSpace"/>; null when either is missing.</summary>
    public static Identifier? UnionId(string? unionSpace, UnionId? unionId) =>
        unionId is { } u && !string.IsNullOrEmpty(unionSpace) ? Identifier.Create(IdentifierType.UnionId, unionSpace, u.Value) : null;

    public static Identifier ExternalUserId(string corpNamespace, ExternalUserId id) => Identifier.Create(IdentifierType.ExternalUserId, corpNamespace, id.Value);

    public static Identifier PendingId(string corpNamespace, PendingId id) => Identifier.Create(IdentifierType.PendingId, corpNamespace, id.Value);

    /// <summary>
    /// Provider (third-party / 代开发) apps see ciphertext ids that differ per provider, so they live in the namespace
    /// corpid/provider and never collide with the corp's plaintext ids (docs/wechat-api.md §6.14).
    /// </summary>
    public static string CorpNamespace(CorpOptions corp, CorpAppOptions app)
    {
        ArgumentNullException.ThrowIfNull(corp);
        ArgumentNullException.ThrowIfNull(app);
        return app.Kind == CorpAppKinds.Provider ? $"{corp.CorpId}/{app.Provider}" : corp.CorpId;
    }

    /// <summary>An openid a caller sent (not WeChat): parsed by the graph's rules, so the same values are refused everywhere.</summary>
    public static bool TryOpenIdFromCaller(string appId, string? text, out OpenId openId, out Identifier identifier)
    {
        openId = default;
        identifier = default;
        return Identifier.TryCreate(IdentifierType.OpenId, appId, text, out identifier, out _) && WeChat.Ids.OpenId.TryParse(text, out openId);
    }
}
