using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;
using OneId.WeChat.Tokens;

namespace OneId.WeChat.Clients;

/// <summary>
/// Third-party platform (component) APIs (§5, §3.8, §4.2): verify tickets, pre-auth codes, authorization, and the
/// component variants of code2Session and web OAuth. Component tokens come from the token service.
/// </summary>
public sealed class ComponentClient(
    HttpClient http,
    ITokenStore store,
    IAccessTokenService tokens,
    IWeChatCredentialProvider credentials,
    WeChatCredentialClient credentialClient,
    IOptions<WeChatOptions> options,
    ILogger<ComponentClient> logger)
{
    /// <summary>
    /// Handles a decrypted INFO push from the authorization event URL (§5.1, §7.4): stores a component_verify_ticket;
    /// on <c>authorized</c>/<c>updateauthorized</c> calls api_query_auth and persists the authorizer_refresh_token; on
    /// <c>unauthorized</c> forgets the authorizer. Answer WeChat with the literal <c>success</c> afterwards.
    /// </summary>
    public async Task<ComponentInfoEvent> HandleInfoEventAsync(WeChatXmlMessage message, CancellationToken cancellationToken = default)
    {
        var info = ParseInfoEvent(message);
        WeChatLog.ComponentEvent(logger, info.ComponentAppId, info.InfoType, info.AuthorizerAppId?.Value);
        switch (info.InfoType)
        {
            case "component_verify_ticket" when info.ComponentVerifyTicket is { Length: > 0 } ticket:
                if (await store.SaveVerifyTicketAsync(new ComponentVerifyTicket(info.ComponentAppId, ticket, info.CreateTime), cancellationToken).ConfigureAwait(false))
                {
                    WeChatLog.VerifyTicketStored(logger, info.ComponentAppId, SecretFingerprint.Of(ticket), info.CreateTime);
                }
                else
                {
                    // A retried or delayed push (§5.1: every 10 minutes, retried) older than the ticket already kept.
                    WeChatLog.VerifyTicketStale(logger, info.ComponentAppId, SecretFingerprint.Of(ticket), info.CreateTime);
                }
                break;
            case "authorized" or "updateauthorized" when info.AuthorizationCode is { Length: > 0 } code:
                await QueryAuthAsync(info.ComponentAppId, code, cancellationToken).ConfigureAwait(false);
                break;
            case "unauthorized" when info.AuthorizerAppId is { } authorizer:
                await store.DeleteAuthorizerAsync(info.ComponentAppId, authorizer, cancellationToken).ConfigureAwait(false);
                tokens.Evict(TokenKey.Authorizer(info.ComponentAppId, authorizer));
                break;
        }
        return info;
    }

    /// <summary>Reads the fields of an INFO event (§7.4).</summary>
    public static ComponentInfoEvent ParseInfoEvent(WeChatXmlMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var componentAppId = AppId.TryParse(message["AppId"], out var c) ? c
            : throw new WeChatCryptoException(WeChatCryptoError.MissingElement, "The component event has no valid <AppId>.");
        var infoType = message.GetRequired("InfoType");
        return new ComponentInfoEvent(
            componentAppId,
            infoType,
            Seconds(message["CreateTime"]) ?? DateTimeOffset.UnixEpoch,
            message["ComponentVerifyTicket"],
            AppId.TryParse(message["AuthorizerAppid"], out var a) ? a : null,
            message["AuthorizationCode"],
            Seconds(message["AuthorizationCodeExpiredTime"]),
            message["PreAuthCode"]);
    }

    /// <summary>POST cgi-bin/component/api_start_push_ticket (§5.1): asks WeChat to (re)start the 10-minute ticket pushes.</summary>
    public async Task StartPushTicketAsync(AppId componentAppId, CancellationToken cancellationToken = default)
    {
        var credential = await credentials.GetComponentAsync(componentAppId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"No component secret is configured for {componentAppId}; add it to OneId:WeChat:Components.");
        await credentialClient.StartPushTicketAsync(componentAppId, credential.Secret, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>POST cgi-bin/component/api_create_preauthcode (§5.3).</summary>
    public Task<PreAuthCode> CreatePreAuthCodeAsync(AppId componentAppId, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<PreAuthCode>(http, logger, "cgi-bin/component/api_create_preauthcode", null,
            new { component_appid = componentAppId.Value }, ComponentToken(componentAppId), cancellationToken);

    /// <summary>The PC authorize page (<c>mp.weixin.qq.com/cgi-bin/componentloginpage</c>, §5.3). The redirect gets auth_code and expires_in.</summary>
    public Uri BuildAuthorizePageUrl(AppId componentAppId, string preAuthCode, Uri redirectUri, ComponentAuthType authType = ComponentAuthType.Both, AppId? bizAppId = null) =>
        new(options.Value.MpBaseAddress, WeChatUri.Build("cgi-bin/componentloginpage",
        [
            new("component_appid", componentAppId), new("pre_auth_code", preAuthCode),
            new("redirect_uri", redirectUri?.AbsoluteUri ?? throw new ArgumentNullException(nameof(redirectUri))),
            new("auth_type", ((int)authType).ToString(CultureInfo.InvariantCulture)), new("biz_appid", bizAppId?.Value),
        ]));

    /// <summary>The mobile authorize page (<c>mp.weixin.qq.com/safe/bindcomponent</c>, §5.3).</summary>
    public Uri BuildMobileAuthorizePageUrl(AppId componentAppId, string preAuthCode, Uri redirectUri, ComponentAuthType authType = ComponentAuthType.Both) =>
        new(options.Value.MpBaseAddress, WeChatUri.Build("safe/bindcomponent",
        [
            new("action", "bindcomponent"), new("no_scan", "1"), new("component_appid", componentAppId), new("pre_auth_code", preAuthCode),
            new("redirect_uri", redirectUri?.AbsoluteUri ?? throw new ArgumentNullException(nameof(redirectUri))),
            new("auth_type", ((int)authType).ToString(CultureInfo.InvariantCulture)),
        ]) + "#wechat_redirect");

    /// <summary>
    /// POST cgi-bin/component/api_query_auth (§5.4) with the auth_code from the redirect or the <c>authorized</c> event.
    /// The authorizer_refresh_token is persisted: it is issued only here and, if lost, the merchant must authorize again (§5.5).
    /// </summary>
    public async Task<AuthorizationInfo> QueryAuthAsync(AppId componentAppId, string authorizationCode, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(authorizationCode);
        var response = await WeChatHttp.PostAsync<QueryAuthResponse>(http, logger, "cgi-bin/component/api_query_auth", null,
            new { component_appid = componentAppId.Value, authorization_code = authorizationCode }, ComponentToken(componentAppId), cancellationToken).ConfigureAwait(false);
        var info = response.AuthorizationInfo;
        if (!string.IsNullOrEmpty(info.AuthorizerRefreshToken))
        {
            await store.SaveAuthorizerRefreshTokenAsync(componentAppId, info.AuthorizerAppId, info.AuthorizerRefreshToken, cancellationToken).ConfigureAwait(false);
        }
        var key = TokenKey.Authorizer(componentAppId, info.AuthorizerAppId);
        // The answer carries a fresh authorizer token: keep it rather than fetch another (authorizer fetches count against
        // a quota, §5.5). A re-authorization replaces whatever was cached from the old grant.
        tokens.Evict(key);
        if (!string.IsNullOrEmpty(info.AuthorizerAccessToken) && info.ExpiresIn > 0)
        {
            await tokens.OfferAsync(key, info.AuthorizerAccessToken, info.ExpiresIn, cancellationToken).ConfigureAwait(false);
        }
        return info;
    }

    /// <summary>GET sns/component/jscode2session (§4.2): code2Session for an authorizer mini program.</summary>
    public Task<MiniProgramSession> Code2SessionAsync(AppId componentAppId, AppId miniProgramAppId, string jsCode, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jsCode);
        return WeChatHttp.GetAsync<MiniProgramSession>(http, logger, "sns/component/jscode2session",
            [new("appid", miniProgramAppId), new("js_code", jsCode), new("grant_type", "authorization_code"), new("component_appid", componentAppId)],
            ComponentToken(componentAppId), cancellationToken);
    }

    /// <summary>
    /// The OA authorize page URL for an authorizer OA, carrying <c>component_appid</c> (§3.8). Same page as
    /// <see cref="WeChatOAuthClient.BuildAuthorizeUrl"/>.
    /// </summary>
    public Uri BuildOAuthAuthorizeUrl(AppId componentAppId, AppId officialAccountAppId, Uri redirectUri, OAuthScope scope, string? state = null)
    {
        var query = new List<KeyValuePair<string, string?>>
        {
            new("appid", officialAccountAppId), new("redirect_uri", redirectUri?.AbsoluteUri ?? throw new ArgumentNullException(nameof(redirectUri))),
            new("response_type", "code"), new("scope", WeChatOAuthClient.ScopeName(scope)), new("state", WeChatOAuthClient.CheckState(state)),
            new("component_appid", componentAppId),
        };
        return new Uri(options.Value.OpenBaseAddress, WeChatUri.Build("connect/oauth2/authorize", query) + "#wechat_redirect");
    }

    /// <summary>GET sns/oauth2/component/access_token (§3.8): exchanges an OA web-authorization code on the OA's behalf.</summary>
    public Task<OAuthToken> ExchangeOAuthCodeAsync(AppId componentAppId, AppId officialAccountAppId, string code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        return WeChatHttp.GetAsync<OAuthToken>(http, logger, "sns/oauth2/component/access_token",
            [new("appid", officialAccountAppId), new("code", code), new("grant_type", "authorization_code"), new("component_appid", componentAppId)],
            ComponentToken(componentAppId), cancellationToken);
    }

    /// <summary>GET sns/oauth2/component/refresh_token (§3.8).</summary>
    public Task<OAuthToken> RefreshOAuthTokenAsync(AppId componentAppId, AppId officialAccountAppId, string refreshToken, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(refreshToken);
        return WeChatHttp.GetAsync<OAuthToken>(http, logger, "sns/oauth2/component/refresh_token",
            [new("appid", officialAccountAppId), new("grant_type", "refresh_token"), new("component_appid", componentAppId), new("refresh_token", refreshToken)],
            ComponentToken(componentAppId), cancellationToken);
    }

    // The legacy docs name the parameter component_access_token; the newer pages accept access_token too (§5.2).
    // The legacy name is the one every version of WeChat (and the sandbox) understands.
    private static TokenBinding ComponentToken(AppId componentAppId) =>
        TokenBinding.Managed(TokenKey.Component(componentAppId), "component_access_token");

    private static DateTimeOffset? Seconds(string? value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? DateTimeOffset.FromUnixTimeSeconds(s) : null;
}
