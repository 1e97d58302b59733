using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OneId.Sandbox.Pushes;
using OneId.Sandbox.State;
using OneId.Sandbox.World;
using static OneId.Sandbox.Endpoints.ApiContext;

namespace OneId.Sandbox.Endpoints;

/// <summary>Third-party platform (component) APIs (§5).</summary>
internal static class ComponentEndpoints
{
    /// <summary>pre_auth_code: the doc text says 1800 s while its samples show 600 (§5.3); we use 1800.</summary>
    public static readonly TimeSpan PreAuthCodeLifetime = TimeSpan.FromSeconds(1800);

    /// <summary>authorization_code lifetime is unconfirmed (§5.4); we use the typical 3600 s.</summary>
    public static readonly TimeSpan AuthorizationCodeLifetime = TimeSpan.FromSeconds(3600);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/cgi-bin/component/api_start_push_ticket", StartPushTicketAsync);
        api.MapPost("/cgi-bin/component/api_component_token", ComponentTokenAsync);
        api.MapPost("/cgi-bin/component/api_create_preauthcode", CreatePreAuthCodeAsync);
        api.MapPost("/cgi-bin/component/api_query_auth", QueryAuthAsync);
        api.MapPost("/cgi-bin/component/api_authorizer_token", AuthorizerTokenAsync);
    }

    private static SandboxComponent ComponentOf(SandboxWorldState state, string? componentAppid) =>
        componentAppid is null ? throw new WeChatApiException(41018)
        : state.Components.TryGetValue(componentAppid, out var c) ? c
        : throw new WeChatApiException(61011);

    /// <summary>api_start_push_ticket (§5.1): (re)starts ticket pushing; we push one at once.</summary>
    private static async Task<IResult> StartPushTicketAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var component = ComponentOf(state, Text(body, "component_appid"));
        CheckSecret(component, Text(body, "component_secret"));
        http.RequestServices.GetRequiredService<SandboxEvents>().PushTicket(component);
        return WeChatResult.Ok();
    }

    private static void CheckSecret(SandboxComponent component, string? secret)
    {
        if (secret is null)
        {
            throw new WeChatApiException(41004);
        }
        if (secret != component.Secret)
        {
            throw new WeChatApiException(40125);
        }
    }

    /// <summary>api_component_token (§5.2): needs a ticket we pushed in the last 12 hours (61006 / 61005).</summary>
    private static async Task<IResult> ComponentTokenAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var component = ComponentOf(state, Text(body, "component_appid"));
        CheckSecret(component, Text(body, "component_appsecret"));
        if (SandboxEvents.CheckTicket(state, Text(body, "component_verify_ticket")) is { } error)
        {
            throw new WeChatApiException(error);
        }
        var grant = state.Tokens.IssueComponentToken(component.ComponentAppid);
        return WeChatResult.Bare(new JsonObject { ["component_access_token"] = grant.Token, ["expires_in"] = state.Tokens.SecondsLeft(grant) });
    }

    private static async Task<(SandboxWorldState State, SandboxComponent Component, JsonObject Body)> ComponentCallAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var (_, component) = ComponentToken(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var named = ComponentOf(state, Text(body, "component_appid"));
        return named == component ? (state, component, body) : throw new WeChatApiException(61011);
    }

    private static async Task<IResult> CreatePreAuthCodeAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var (state, component, _) = await ComponentCallAsync(http, cancellationToken).ConfigureAwait(false);
        var code = state.Codes.Issue(CodeKind.PreAuth, component.ComponentAppid, PreAuthCodeLifetime);
        return WeChatResult.Bare(new JsonObject { ["pre_auth_code"] = code.Code, ["expires_in"] = (int)PreAuthCodeLifetime.TotalSeconds });
    }

    /// <summary>api_query_auth (§5.4): authorization_code → authorizer tokens; 61009 invalid or used, 61010 expired.</summary>
    private static async Task<IResult> QueryAuthAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var (state, component, body) = await ComponentCallAsync(http, cancellationToken).ConfigureAwait(false);
        var code = Text(body, "authorization_code");
        var grant = state.Codes.Peek(code ?? "") is { Kind: CodeKind.ComponentAuthorization } peeked && peeked.ComponentAppid == component.ComponentAppid
            ? state.Codes.Redeem(code, CodeKind.ComponentAuthorization, peeked.Appid, 61009, 61009, 61010, usedErrcode: 61009)
            : throw new WeChatApiException(61009);
        if (!IsAuthorizer(state, component, grant.Appid))
        {
            throw new WeChatApiException(61003);
        }
        var token = state.Tokens.IssueAuthorizerToken(component.ComponentAppid, grant.Appid);
        return WeChatResult.Bare(new JsonObject
        {
            ["authorization_info"] = new JsonObject
            {
                ["authorizer_appid"] = grant.Appid,
                ["authorizer_access_token"] = token.Token,
                ["expires_in"] = state.Tokens.SecondsLeft(token),
                ["authorizer_refresh_token"] = AuthorizerRefreshToken(state, component.ComponentAppid, grant.Appid),
                ["func_info"] = new JsonArray(
                    new JsonObject { ["funcscope_category"] = new JsonObject { ["id"] = 1 } },
                    new JsonObject { ["funcscope_category"] = new JsonObject { ["id"] = 18 } }),
            },
        });
    }

    /// <summary>
    /// api_authorizer_token: the refresh token lives as long as the authorization; after `unauthorized`, and after a
    /// re-authorization for the refresh token of the earlier one ("用户重新授权后，之前的刷新令牌会失效"), it answers
    /// 61023 "refresh_token is invalid". The refresh token is returned unchanged, as WeChat usually does.
    /// </summary>
    private static async Task<IResult> AuthorizerTokenAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var (state, component, body) = await ComponentCallAsync(http, cancellationToken).ConfigureAwait(false);
        var authorizer = Text(body, "authorizer_appid") ?? throw new WeChatApiException(41002);
        var refresh = Text(body, "authorizer_refresh_token") ?? throw new WeChatApiException(41003);
        if (!IsAuthorizer(state, component, authorizer) || refresh != AuthorizerRefreshToken(state, component.ComponentAppid, authorizer))
        {
            throw new WeChatApiException(61023);
        }
        var token = state.Tokens.IssueAuthorizerToken(component.ComponentAppid, authorizer);
        return WeChatResult.Bare(new JsonObject
        {
            ["authorizer_access_token"] = token.Token,
            ["expires_in"] = state.Tokens.SecondsLeft(token),
            ["authorizer_refresh_token"] = refresh,
        });
    }

    /// <summary>
    /// An admin authorizes the platform for an app (the componentloginpage, or the control API): the app becomes an
    /// authorizer, an authorization_code is issued and the `authorized` INFO event is pushed (§5.3, §7.4).
    /// </summary>
    internal static CodeGrant Authorize(SandboxWorldState state, SandboxEvents events, SandboxComponent component, SandboxApp app, string preAuthCode = "")
    {
        state.Authorizations[(component.ComponentAppid, app.Appid)] = true;
        // Every authorization, the first included, is a new one: the refresh token of any earlier one stops working.
        state.AuthorizationGenerations.AddOrUpdate((component.ComponentAppid, app.Appid), 1, (_, g) => g + 1);
        var code = state.Codes.Issue(CodeKind.ComponentAuthorization, app.Appid, AuthorizationCodeLifetime, componentAppid: component.ComponentAppid);
        events.PushInfo(component, "authorized", ("AuthorizerAppid", app.Appid), ("AuthorizationCode", code.Code),
            ("AuthorizationCodeExpiredTime", code.ExpiresAt.ToUnixTimeSeconds()), ("PreAuthCode", preAuthCode));
        return code;
    }

    /// <summary>
    /// The refresh token of the current authorization: deterministic per (component, authorizer, authorization) —
    /// "refreshtoken@@@" + 43 url-safe characters. The world's own authorizers hold authorization 0.
    /// </summary>
    public static string AuthorizerRefreshToken(SandboxWorldState state, string componentAppid, string authorizerAppid)
    {
        var generation = state.AuthorizationGenerations.GetValueOrDefault((componentAppid, authorizerAppid));
        var seed = "refresh:" + componentAppid + ":" + authorizerAppid + (generation == 0 ? "" : ":" + generation.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return "refreshtoken@@@" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(seed))).Replace('+', '-').Replace('/', '_').TrimEnd('=');
    }
}
