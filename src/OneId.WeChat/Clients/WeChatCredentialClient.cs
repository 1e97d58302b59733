using Microsoft.Extensions.Logging;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.WeChat.Clients;

/// <summary>
/// The token-issuing endpoints, called with explicit credentials. The token service uses it; application code should ask
/// <see cref="Tokens.IAccessTokenService"/> instead, which caches, shares and coordinates. Its HttpClient has no token handler.
/// </summary>
public sealed class WeChatCredentialClient(HttpClient http, ILogger<WeChatCredentialClient> logger)
{
    /// <summary>GET cgi-bin/token: a new token on every call; the previous one stays valid 5 more minutes (§1.1).</summary>
    public Task<AccessTokenResponse> GetAccessTokenAsync(AppId appId, string secret, CancellationToken cancellationToken = default) =>
        WeChatHttp.GetAsync<AccessTokenResponse>(http, logger, "cgi-bin/token",
            [new("grant_type", "client_credential"), new("appid", appId), new("secret", secret)], null, cancellationToken);

    /// <summary>
    /// POST cgi-bin/stable_token (§1.2): the same token while it is valid; a new one in its last 5 minutes.
    /// <paramref name="forceRefresh"/> invalidates the previous token, at most 20 times a day and not twice within 30 s.
    /// </summary>
    public Task<AccessTokenResponse> GetStableAccessTokenAsync(AppId appId, string secret, bool forceRefresh, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<AccessTokenResponse>(http, logger, "cgi-bin/stable_token", null,
            new StableTokenRequest("client_credential", appId, secret, forceRefresh), null, cancellationToken);

    /// <summary>POST cgi-bin/component/api_component_token with the latest component_verify_ticket (§5.2).</summary>
    public Task<ComponentTokenResponse> GetComponentAccessTokenAsync(AppId componentAppId, string componentSecret, string verifyTicket, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<ComponentTokenResponse>(http, logger, "cgi-bin/component/api_component_token", null,
            new ComponentTokenRequest(componentAppId, componentSecret, verifyTicket), null, cancellationToken);

    /// <summary>POST cgi-bin/component/api_authorizer_token (§5.5). Persist the refresh token it returns.</summary>
    public Task<AuthorizerTokenResponse> GetAuthorizerAccessTokenAsync(string componentAccessToken, AppId componentAppId, AppId authorizerAppId,
        string authorizerRefreshToken, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<AuthorizerTokenResponse>(http, logger, "cgi-bin/component/api_authorizer_token", null,
            new AuthorizerTokenRequest(componentAppId, authorizerAppId, authorizerRefreshToken),
            TokenBinding.Explicit(componentAccessToken, "component_access_token"), cancellationToken);

    /// <summary>POST cgi-bin/component/api_start_push_ticket: (re)starts the verify-ticket pushes (§5.1).</summary>
    public Task<WeChatStatusResponse> StartPushTicketAsync(AppId componentAppId, string componentSecret, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<WeChatStatusResponse>(http, logger, "cgi-bin/component/api_start_push_ticket", null,
            new StartPushTicketRequest(componentAppId, componentSecret), null, cancellationToken);

    private sealed record StableTokenRequest(
        [property: System.Text.Json.Serialization.JsonPropertyName("grant_type")] string GrantType,
        [property: System.Text.Json.Serialization.JsonPropertyName("appid")] string AppId,
        [property: System.Text.Json.Serialization.JsonPropertyName("secret")] string Secret,
        [property: System.Text.Json.Serialization.JsonPropertyName("force_refresh")] bool ForceRefresh);

    private sealed record ComponentTokenRequest(
        [property: System.Text.Json.Serialization.JsonPropertyName("component_appid")] string ComponentAppId,
        [property: System.Text.Json.Serialization.JsonPropertyName("component_appsecret")] string ComponentAppSecret,
        [property: System.Text.Json.Serialization.JsonPropertyName("component_verify_ticket")] string ComponentVerifyTicket);

    private sealed record AuthorizerTokenRequest(
        [property: System.Text.Json.Serialization.JsonPropertyName("component_appid")] string ComponentAppId,
        [property: System.Text.Json.Serialization.JsonPropertyName("authorizer_appid")] string AuthorizerAppId,
        [property: System.Text.Json.Serialization.JsonPropertyName("authorizer_refresh_token")] string AuthorizerRefreshToken);

    private sealed record StartPushTicketRequest(
        [property: System.Text.Json.Serialization.JsonPropertyName("component_appid")] string ComponentAppId,
        [property: System.Text.Json.Serialization.JsonPropertyName("component_secret")] string ComponentSecret);
}

/// <summary>WeCom's token endpoint, with explicit credentials (used by the token service).</summary>
public sealed class WeComCredentialClient(HttpClient http, ILogger<WeComCredentialClient> logger)
{
    /// <summary>GET cgi-bin/gettoken: idempotent within the token's life; one token per app secret (§6.1).</summary>
    public Task<AccessTokenResponse> GetTokenAsync(CorpId corpId, string corpSecret, CancellationToken cancellationToken = default) =>
        WeChatHttp.GetAsync<AccessTokenResponse>(http, logger, "cgi-bin/gettoken",
            [new("corpid", corpId), new("corpsecret", corpSecret)], null, cancellationToken);
}
