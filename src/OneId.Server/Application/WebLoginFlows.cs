using System.Security.Cryptography;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.Server.Application;

public sealed record OAuthResult(string? Token, string? PersonId, string? Openid, string? Unionid, bool NewPerson, string Scope, bool Snapshot, bool Refused);

/// <summary>
/// Browser triggers: OA web authorization (S2 snsapi_userinfo, S3 snsapi_base) with a CSRF state, and website QR /
/// mobile-app login (S8). An OA that acts through its third-party platform authorizes through the platform (S7).
/// </summary>
public sealed class WebLoginFlows(WeChatOAuthClient oauth, ComponentClient component, IdentityRecorder recorder, LoginSessions sessions, TimeProvider time)
{
    private static readonly TimeSpan StateLifetime = TimeSpan.FromMinutes(10);

    /// <summary>Starts web authorization: a fresh state is stored and the URL of WeChat's authorization page returned.</summary>
    public async Task<Uri> StartOAuthAsync(HubTenant tenant, AppOptions app, OAuthScope scope, string? returnTo, Uri redirectUri, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        // The state is the CSRF guard: random, single-use, bound to the app, and short-lived. WeChat allows [a-zA-Z0-9] up to 128 bytes (docs/wechat-api.md §3.1).
        var state = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await tenant.OAuthStates.AddOAuthStateAsync(state, app.AppId, scope == OAuthScope.SnsApiBase ? "snsapi_base" : "snsapi_userinfo",
            string.IsNullOrEmpty(returnTo) ? null : returnTo, time.GetUtcNow() + StateLifetime, cancellationToken).ConfigureAwait(false);
        return app.ActsThroughPlatform
            ? component.BuildOAuthAuthorizeUrl(AppId.Parse(app.ComponentAppId!), AppId.Parse(app.AppId), redirectUri, scope, state)
            : oauth.BuildAuthorizeUrl(AppId.Parse(app.AppId), redirectUri, scope, state);
    }

    /// <summary>WeChat came back with a code (or without one: the user refused). Returns the outcome and where the browser goes next.</summary>
    public async Task<(OAuthResult Result, string? ReturnTo)> FinishOAuthAsync(HubTenant tenant, AppOptions app, string? code, string state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        if (await tenant.OAuthStates.TakeOAuthStateAsync(state, app.AppId, cancellationToken).ConfigureAwait(false) is not { } taken)
        {
            throw new FlowRefusedException(FlowRefusal.BadInput, "Invalid state",
                "The state is unknown, used or expired (10 minutes): start again at /v1/oa/{appid}/authorize. This guards against CSRF.");
        }
        if (string.IsNullOrEmpty(code))
        {
            // The user refused the consent page: WeChat redirects with the state only. Nothing is learned.
            return (new OAuthResult(null, null, null, null, false, taken.Scope, false, Refused: true), taken.ReturnTo);
        }
        var token = app.ActsThroughPlatform
            ? await component.ExchangeOAuthCodeAsync(AppId.Parse(app.ComponentAppId!), AppId.Parse(app.AppId), code, cancellationToken).ConfigureAwait(false)
            : await oauth.ExchangeCodeAsync(AppId.Parse(app.AppId), code, cancellationToken).ConfigureAwait(false);
        // Snapshot mode (since 2022-07-12): a virtual user with virtual openid/unionid; its ids must never create or merge a person (docs/wechat-api.md §3.1).
        if (token.IsSnapshotUser)
        {
            return (new OAuthResult(null, null, null, null, false, token.Scope, Snapshot: true, Refused: false), taken.ReturnTo);
        }
        var info = token.HasUserInfoScope
            ? await oauth.GetUserInfoAsync(token.AccessToken, token.OpenId, cancellationToken: cancellationToken).ConfigureAwait(false)
            : null;
        var unionId = token.UnionId ?? info?.UnionId;
        var login = sessions.New(tenant, app.AppId, token.OpenId.Value, null);
        var result = await recorder.RecordAppUserAsync(tenant, app, $"oa.oauth:{app.AppId}", token.OpenId, unionId, ProfileOf(info), login.Row, cancellationToken).ConfigureAwait(false);
        return (new OAuthResult(login.Token, result.Person?.ToString(), token.OpenId.Value, unionId?.Value, result.NewPerson, token.Scope, false, false), taken.ReturnTo);
    }

    /// <summary>S8: a website's QR login or a mobile app's SDK login sent its code.</summary>
    public async Task<LoginOutcome> AppLoginAsync(HubTenant tenant, AppOptions app, string code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        var token = await oauth.ExchangeCodeAsync(AppId.Parse(app.AppId), code, cancellationToken).ConfigureAwait(false);
        var info = token.HasUserInfoScope
            ? await oauth.GetUserInfoAsync(token.AccessToken, token.OpenId, cancellationToken: cancellationToken).ConfigureAwait(false)
            : null;
        var unionId = token.UnionId ?? info?.UnionId;
        var login = sessions.New(tenant, app.AppId, token.OpenId.Value, null);
        var result = await recorder.RecordAppUserAsync(tenant, app, $"web.login:{app.AppId}", token.OpenId, unionId, ProfileOf(info), login.Row, cancellationToken).ConfigureAwait(false);
        return new LoginOutcome(login.Token, result.Person, token.OpenId, unionId, result.NewPerson, login.ExpiresAt);
    }

    private static IEnumerable<ProfileAttribute> ProfileOf(SnsUserInfo? info) =>
        info is null
            ? []
            : new[] { ("nickname", info.Nickname), ("avatar", info.HeadImgUrl), ("gender", info.Sex?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                      ("country", info.Country), ("province", info.Province), ("city", info.City) }
                .Where(p => !string.IsNullOrEmpty(p.Item2)).Select(p => ProfilePolicy.Attribute(p.Item1, p.Item2!));
}
