using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using OneId.Server.Api;
using OneId.Server.Application;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.WeChat.Models;

namespace OneId.Server.Flows;

/// <summary>
/// HTTP for the browser flows (<see cref="WebLoginFlows"/>): OA web authorization (S2 snsapi_userinfo, S3 snsapi_base)
/// and website QR / mobile-app login (S8).
/// </summary>
public static class WebAuthApi
{
    public static IEndpointRouteBuilder MapWebAuthApi(this IEndpointRouteBuilder app)
    {
        var oa = app.MapGroup("/v1/oa/{appid}").WithTags("Official Account web authorization").AddEndpointFilter<FlowErrorFilter>();
        oa.MapGet("/authorize", AuthorizeAsync);
        oa.MapGet("/oauth-callback", CallbackAsync);
        app.MapPost("/v1/web/{appid}/login", WebLoginAsync).WithTags("Website and mobile-app login").AddEndpointFilter<FlowErrorFilter>();
        return app;
    }

    internal static async Task<Results<RedirectHttpResult, ProblemHttpResult>> AuthorizeAsync(
        string appid, string? scope, string? return_to, HttpContext http, TenantRegistry tenants, WebLoginFlows flows,
        IOptions<HubOptions> options, CancellationToken ct)
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
        var redirect = new Uri(PublicBase(http, options.Value), $"v1/oa/{appid}/oauth-callback");
        var url = await flows.StartOAuthAsync(found.Tenant, found.App, s, returnTo, redirect, ct).ConfigureAwait(false);
        return TypedResults.Redirect(url.AbsoluteUri);
    }

    internal static async Task<Results<Ok<OAuthResult>, RedirectHttpResult, ProblemHttpResult>> CallbackAsync(
        string appid, string? code, string? state, TenantRegistry tenants, WebLoginFlows flows, CancellationToken ct)
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
        if (string.IsNullOrEmpty(state) || state.Length > 128)
        {
            return Problems.BadRequest("Invalid state", "The state is unknown, used or expired (10 minutes): start again at /v1/oa/{appid}/authorize. This guards against CSRF.");
        }
        var (result, returnTo) = await flows.FinishOAuthAsync(found.Tenant, found.App, code, state, ct).ConfigureAwait(false);
        return Finish(returnTo, result);
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
        string appid, CodeRequest? request, TenantRegistry tenants, WebLoginFlows flows, CancellationToken ct)
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
        return TypedResults.Ok(LoginResponse.From(await flows.AppLoginAsync(found.Tenant, found.App, request.Code, ct).ConfigureAwait(false)));
    }

    private static Uri PublicBase(HttpContext http, HubOptions options)
    {
        var baseUrl = options.PublicUrl is { Length: > 0 } u ? u : $"{http.Request.Scheme}://{http.Request.Host}";
        return new Uri(baseUrl.TrimEnd('/') + "/");
    }
}
