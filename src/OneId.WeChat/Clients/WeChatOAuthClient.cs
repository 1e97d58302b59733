using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;
using OneId.WeChat.Tokens;

namespace OneId.WeChat.Clients;

/// <summary>
/// Browser and app authorization (§3): OA web pages (snsapi_base / snsapi_userinfo), website QR login (snsapi_login) and
/// mobile-app login all exchange a code through the same sns endpoints with the app's own appid and secret.
/// </summary>
public sealed class WeChatOAuthClient(HttpClient http, IWeChatCredentialProvider credentials, IOptions<WeChatOptions> options, ILogger<WeChatOAuthClient> logger)
{
    /// <summary>
    /// The OA authorize page URL (§3.1): <c>connect/oauth2/authorize?…#wechat_redirect</c>. The fragment is required; without
    /// it WeChat shows an error page.
    /// </summary>
    public Uri BuildAuthorizeUrl(AppId appId, Uri redirectUri, OAuthScope scope, string? state = null, bool forcePopup = false)
    {
        if (scope == OAuthScope.SnsApiLogin)
        {
            throw new ArgumentException("snsapi_login is for website QR login; use BuildQrConnectUrl.", nameof(scope));
        }
        var query = new List<KeyValuePair<string, string?>>
        {
            new("appid", appId), new("redirect_uri", redirectUri?.AbsoluteUri ?? throw new ArgumentNullException(nameof(redirectUri))),
            new("response_type", "code"), new("scope", ScopeName(scope)), new("state", CheckState(state)),
        };
        if (forcePopup)
        {
            query.Add(new("forcePopup", "true"));
        }
        return new Uri(options.Value.OpenBaseAddress, WeChatUri.Build("connect/oauth2/authorize", query) + "#wechat_redirect");
    }

    /// <summary>The website QR login URL (§3.6): <c>connect/qrconnect?…scope=snsapi_login…#wechat_redirect</c>.</summary>
    /// <param name="lang">"cn" or "en"; null for WeChat's default.</param>
    public Uri BuildQrConnectUrl(AppId websiteAppId, Uri redirectUri, string state, string? lang = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(state); // the CSRF guard of QR login: required here.
        var query = new List<KeyValuePair<string, string?>>
        {
            new("appid", websiteAppId), new("redirect_uri", redirectUri?.AbsoluteUri ?? throw new ArgumentNullException(nameof(redirectUri))),
            new("response_type", "code"), new("scope", "snsapi_login"), new("state", CheckState(state)), new("lang", lang),
        };
        return new Uri(options.Value.OpenBaseAddress, WeChatUri.Build("connect/qrconnect", query) + "#wechat_redirect");
    }

    /// <summary>
    /// GET sns/oauth2/access_token (§3.2): exchanges a code from the OA page, QR login or the mobile SDK. The secret comes from
    /// the app's configured credential. Codes are single use: 40163 on reuse, 40029 when unknown or expired.
    /// </summary>
    public async Task<OAuthToken> ExchangeCodeAsync(AppId appId, string code, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        var secret = await SecretAsync(appId, cancellationToken).ConfigureAwait(false);
        return await WeChatHttp.GetAsync<OAuthToken>(http, logger, "sns/oauth2/access_token",
            [new("appid", appId), new("secret", secret), new("code", code), new("grant_type", "authorization_code")], null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET sns/oauth2/refresh_token (§3.3): the same access_token with a later expiry while it is valid, else a new one.</summary>
    public Task<OAuthToken> RefreshAsync(AppId appId, string refreshToken, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(refreshToken);
        return WeChatHttp.GetAsync<OAuthToken>(http, logger, "sns/oauth2/refresh_token",
            [new("appid", appId), new("grant_type", "refresh_token"), new("refresh_token", refreshToken)], null, cancellationToken);
    }

    /// <summary>GET sns/userinfo with a user token (§3.4). A snsapi_base token gets 48001.</summary>
    public Task<SnsUserInfo> GetUserInfoAsync(string userAccessToken, OpenId openId, string lang = "zh_CN", CancellationToken cancellationToken = default) =>
        WeChatHttp.GetAsync<SnsUserInfo>(http, logger, "sns/userinfo",
            [new("openid", openId), new("lang", lang)], TokenBinding.Explicit(userAccessToken), cancellationToken);

    /// <summary>GET sns/auth (§3.5): true when the user token is valid for the openid; false on 40003/42001/40001/40014.</summary>
    public async Task<bool> ValidateAsync(string userAccessToken, OpenId openId, CancellationToken cancellationToken = default)
    {
        try
        {
            await WeChatHttp.GetAsync<WeChatStatusResponse>(http, logger, "sns/auth",
                [new("openid", openId)], TokenBinding.Explicit(userAccessToken), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (WeChatApiException ex) when (ex.ErrCode is 40003 or 42001 or 40001 or 40014)
        {
            return false;
        }
    }

    private async Task<string> SecretAsync(AppId appId, CancellationToken cancellationToken) =>
        (await credentials.GetAppAsync(appId, cancellationToken).ConfigureAwait(false))?.Secret
        ?? throw new InvalidOperationException($"No AppSecret is configured for app {appId}; add it to OneId:WeChat:Apps.");

    internal static string ScopeName(OAuthScope scope) => scope switch
    {
        OAuthScope.SnsApiBase => "snsapi_base",
        OAuthScope.SnsApiUserInfo => "snsapi_userinfo",
        OAuthScope.SnsApiLogin => "snsapi_login",
        _ => throw new ArgumentOutOfRangeException(nameof(scope)),
    };

    /// <summary>state: [a-zA-Z0-9], at most 128 bytes (§3.1); anything else WeChat mangles or refuses.</summary>
    internal static string? CheckState(string? state)
    {
        if (state is null)
        {
            return null;
        }
        if (Encoding.UTF8.GetByteCount(state) > 128 || !state.All(char.IsAsciiLetterOrDigit))
        {
            throw new ArgumentException("state must be 1 to 128 characters of [a-zA-Z0-9].", nameof(state));
        }
        return state;
    }
}
