using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using OneId.Graph;
using OneId.Server.Api;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.Server.Flows;

public sealed record OAuthResult(string? Token, string? PersonId, string? Openid, string? Unionid, bool NewPerson, string Scope, bool Snapshot, bool Refused);

/// <summary>
/// Browser flows: OA web authorization (S2 snsapi_userinfo, S3 snsapi_base) with a CSRF state, and website QR /
/// mobile-app login (S8). Authorizer OAs of a third-party platform authorize through the platform (S7).
/// </summary>
public static class WebAuthApi
{
    private static readonly TimeSpan StateLifetime = TimeSpan.FromMinutes(10);

    public static IEndpointRouteBuilder MapWebAuthApi(this IEndpointRouteBuilder app)
    {
        var oa = app.MapGroup("/v1/oa/{appid}").WithTags("Official Account web authorization");
        oa.MapGet("/authorize", AuthorizeAsync);
        oa.MapGet("/oauth-callback", CallbackAsync);
        app.MapPost("/v1/web/{appid}/login", WebLoginAsync).WithTags("Website and mobile-app login");
        return app;
    }

    internal static async Task<Results<RedirectHttpResult, ProblemHttpResult>> AuthorizeAsync(
        string appid, string? scope, string? return_to, HttpContext http, TenantRegistry tenants, WeChatOAuthClient oauth, ComponentClient component,
        IOptions<HubOptions> options, TimeProvider time, CancellationToken ct)
    {
        if (tenants.FindApp(appid) is not { } found)
        {
            return FlowProblems.UnknownApp(appid);
        }
        if (found.App.Type != AppTypes.OfficialAccount)
        {
            return FlowProblems.WrongAppType(appid, found.App.Type, "official accounts");
        }
        var oauthScope = scope switch
        {
            null or "" or "snsapi_base" => OAuthScope.SnsApiBase,
            "snsapi_userinfo" => OAuthScope.SnsApiUserInfo,
            _ => (OAuthScope?)null,
        };
        if (oauthScope is not { } s)
        {
            return Problems.BadRequest("Unknown scope", "scope must be snsapi_base (silent, openid only) or snsapi_userinfo (consent page, profile).");
        }
        string? returnTo = null;
        if (return_to is { Length: > 0 })
        {
            // Judged here, before any WeChat round trip and before a state is stored, so the callback only ever
            // redirects to a target that passed (already percent-encoded, so the Location header is valid ASCII).
            if (!ReturnTarget.TryResolve(return_to, PublicBase(http, options.Value), options.Value.ReturnToOrigins, out var target, out var why))
            {
                return Problems.BadRequest("Unsafe return_to", $"{why}. return_to must be a path on this hub (/…) or a URL on an origin listed in return_to_origins; anything else would be an open redirect.");
            }
            returnTo = target.AbsoluteUri;
        }
        // The state is the CSRF guard: random, single-use, bound to the app, and short-lived. WeChat allows [a-zA-Z0-9] up to 128 bytes (§3.1).
        var state = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await found.Tenant.Store.AddOAuthStateAsync(state, appid, s == OAuthScope.SnsApiBase ? "snsapi_base" : "snsapi_userinfo",
            returnTo, time.GetUtcNow() + StateLifetime, ct).ConfigureAwait(false);
        var redirect = new Uri(PublicBase(http, options.Value), $"v1/oa/{appid}/oauth-callback");
        var url = string.IsNullOrEmpty(found.App.Secret) && found.App.ComponentAppId is { Length: > 0 } comp
            ? component.BuildOAuthAuthorizeUrl(AppId.Parse(comp), AppId.Parse(appid), redirect, s, state)
            : oauth.BuildAuthorizeUrl(AppId.Parse(appid), redirect, s, state);
        return TypedResults.Redirect(url.AbsoluteUri);
    }

    internal static async Task<Results<Ok<OAuthResult>, RedirectHttpResult, ProblemHttpResult>> CallbackAsync(
        string appid, string? code, string? state, TenantRegistry tenants, WeChatOAuthClient oauth, ComponentClient component,
        IdentityRecorder recorder, LoginSessions sessions, CancellationToken ct)
    {
        if (tenants.FindApp(appid) is not { } found || found.App.Type != AppTypes.OfficialAccount)
        {
            return FlowProblems.UnknownApp(appid);
        }
        // A malformed code is refused before the state is spent, so the user can still finish with a good one.
        if (code is { Length: > 0 } && WeChatInput.Code("code", code, "it comes from WeChat's redirect to this callback.") is { } malformed)
        {
            return malformed;
        }
        if (string.IsNullOrEmpty(state) || state.Length > 128
            || await found.Tenant.Store.TakeOAuthStateAsync(state, appid, ct).ConfigureAwait(false) is not { } taken)
        {
            return Problems.BadRequest("Invalid state", "The state is unknown, used or expired (10 minutes): start again at /v1/oa/{appid}/authorize. This guards against CSRF.");
        }
        if (string.IsNullOrEmpty(code))
        {
            // The user refused the consent page: WeChat redirects with the state only (§3.1). Nothing is learned.
            return Finish(taken.ReturnTo, new OAuthResult(null, null, null, null, false, taken.Scope, false, Refused: true));
        }
        OAuthToken token;
        SnsUserInfo? info = null;
        var viaComponent = string.IsNullOrEmpty(found.App.Secret) && found.App.ComponentAppId is { Length: > 0 };
        try
        {
            token = viaComponent
                ? await component.ExchangeOAuthCodeAsync(AppId.Parse(found.App.ComponentAppId!), AppId.Parse(appid), code, ct).ConfigureAwait(false)
                : await oauth.ExchangeCodeAsync(AppId.Parse(appid), code, ct).ConfigureAwait(false);
            // Snapshot mode (since 2022-07-12): a virtual user with virtual openid/unionid; its ids must never create or merge a person (§3.1).
            if (token.IsSnapshotUser)
            {
                return Finish(taken.ReturnTo, new OAuthResult(null, null, null, null, false, token.Scope, Snapshot: true, Refused: false));
            }
            if (token.HasUserInfoScope)
            {
                info = await oauth.GetUserInfoAsync(token.AccessToken, token.OpenId, cancellationToken: ct).ConfigureAwait(false);
            }
        }
        catch (WeChatApiException e)
        {
            return FlowProblems.FromWeChat(e);
        }
        var unionId = token.UnionId?.Value ?? info?.UnionId?.Value;
        var result = await recorder.RecordAsync(found.Tenant, $"oa.oauth:{appid}",
            [IdentityRecorder.OpenIdOf(appid, token.OpenId.Value), IdentityRecorder.UnionIdOf(found.App, unionId)], ProfileOf(info), ct).ConfigureAwait(false);
        if (unionId is not null && MiniProgramApi.LearnedUnionId(result))
        {
            await recorder.ConvertForProvidersAsync(found.Tenant, found.App, token.OpenId.Value, unionId, ct).ConfigureAwait(false);
        }
        var (hubToken, _) = await sessions.CreateAsync(found.Tenant, appid, token.OpenId.Value, result.Person, null, ct).ConfigureAwait(false);
        return Finish(taken.ReturnTo, new OAuthResult(hubToken, result.Person?.ToString(), token.OpenId.Value, unionId, result.NewPerson, token.Scope, false, false));
    }

    /// <summary>
    /// With return_to, the browser goes back to the company's page carrying the hub's login token (or the outcome);
    /// without it, the answer is JSON (for scripts and the demo).
    /// </summary>
    private static Results<Ok<OAuthResult>, RedirectHttpResult, ProblemHttpResult> Finish(string? returnTo, OAuthResult result)
    {
        if (returnTo is null)
        {
            return TypedResults.Ok(result);
        }
        var query = new Dictionary<string, string?>
        {
            ["oneid_token"] = result.Token,
            ["oneid_error"] = result.Refused ? "access_denied" : result.Snapshot ? "snapshot_user" : null,
        }.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value);
        return TypedResults.Redirect(QueryHelpers.AddQueryString(returnTo, query));
    }

    internal static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> WebLoginAsync(
        string appid, CodeRequest? request, TenantRegistry tenants, WeChatOAuthClient oauth, IdentityRecorder recorder, LoginSessions sessions, CancellationToken ct)
    {
        if (tenants.FindApp(appid) is not { } found)
        {
            return FlowProblems.UnknownApp(appid);
        }
        if (found.App.Type is not (AppTypes.Website or AppTypes.MobileApp))
        {
            return FlowProblems.WrongAppType(appid, found.App.Type, "websites (QR login) and mobile apps");
        }
        if (string.IsNullOrWhiteSpace(request?.Code))
        {
            return Problems.BadRequest("Missing code", "Send {\"code\": \"<the code from the QR login redirect or the mobile SDK>\"}.");
        }
        if (WeChatInput.Code("code", request.Code, "send the code from the QR login redirect or the mobile SDK, unchanged.") is { } malformed)
        {
            return malformed;
        }
        OAuthToken token;
        SnsUserInfo? info = null;
        try
        {
            token = await oauth.ExchangeCodeAsync(AppId.Parse(appid), request.Code, ct).ConfigureAwait(false);
            if (token.HasUserInfoScope)
            {
                info = await oauth.GetUserInfoAsync(token.AccessToken, token.OpenId, cancellationToken: ct).ConfigureAwait(false);
            }
        }
        catch (WeChatApiException e)
        {
            return FlowProblems.FromWeChat(e);
        }
        var unionId = token.UnionId?.Value ?? info?.UnionId?.Value;
        var result = await recorder.RecordAsync(found.Tenant, $"web.login:{appid}",
            [IdentityRecorder.OpenIdOf(appid, token.OpenId.Value), IdentityRecorder.UnionIdOf(found.App, unionId)], ProfileOf(info), ct).ConfigureAwait(false);
        if (unionId is not null && MiniProgramApi.LearnedUnionId(result))
        {
            await recorder.ConvertForProvidersAsync(found.Tenant, found.App, token.OpenId.Value, unionId, ct).ConfigureAwait(false);
        }
        var (hubToken, expires) = await sessions.CreateAsync(found.Tenant, appid, token.OpenId.Value, result.Person, null, ct).ConfigureAwait(false);
        return TypedResults.Ok(new LoginResponse(hubToken, result.Person?.ToString(), token.OpenId.Value, unionId, result.NewPerson, expires));
    }

    internal static IEnumerable<ProfileAttribute> ProfileOf(SnsUserInfo? info) =>
        info is null
            ? []
            : new[] { ("nickname", info.Nickname), ("avatar", info.HeadImgUrl), ("gender", info.Sex?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                      ("country", info.Country), ("province", info.Province), ("city", info.City) }
                .Where(p => !string.IsNullOrEmpty(p.Item2)).Select(p => ProfilePolicy.Attribute(p.Item1, p.Item2!));

    private static Uri PublicBase(HttpContext http, HubOptions options)
    {
        var baseUrl = options.PublicUrl is { Length: > 0 } u ? u : $"{http.Request.Scheme}://{http.Request.Host}";
        return new Uri(baseUrl.TrimEnd('/') + "/");
    }
}
