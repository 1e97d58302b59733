using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OneId.Sandbox.State;
using OneId.Sandbox.World;

namespace OneId.Sandbox.Endpoints;

/// <summary>Helpers every emulated endpoint shares: parameters, apps, secrets and tokens, with WeChat's errcodes.</summary>
internal static class ApiContext
{
    public static SandboxWorldState StateOf(HttpContext http) => http.RequestServices.GetRequiredService<SandboxRuntime>().State;

    /// <summary>A query parameter; empty counts as missing, as WeChat treats it.</summary>
    public static string? Query(HttpContext http, string name)
    {
        var value = http.Request.Query[name].ToString();
        return string.IsNullOrEmpty(value) ? null : value;
    }

    public static string? Text(JsonObject body, string name) => body[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    /// <summary>The app of an appid + secret pair: 41002 / 41004 missing, 40013 unknown appid, 40125 wrong secret (§1.1).</summary>
    public static SandboxApp AppWithSecret(SandboxWorldState state, string? appid, string? secret)
    {
        if (appid is null)
        {
            throw new WeChatApiException(41002);
        }
        if (!state.Apps.TryGetValue(appid, out var app))
        {
            throw new WeChatApiException(40013);
        }
        if (secret is null)
        {
            throw new WeChatApiException(41004);
        }
        // A wrong secret: 40125 "invalid appsecret" is what current captures show (§1.1).
        if (!string.Equals(secret, app.Secret, StringComparison.Ordinal))
        {
            throw new WeChatApiException(40125);
        }
        return app;
    }

    public static SandboxApp App(SandboxWorldState state, string? appid)
    {
        if (appid is null)
        {
            throw new WeChatApiException(41002);
        }
        return state.Apps.TryGetValue(appid, out var app) ? app : throw new WeChatApiException(40013);
    }

    /// <summary>
    /// A global token of an app (cgi-bin/token, stable_token, or an authorizer token acting for the app). Any other
    /// token, including a user sns token, is not a credential here: 40001.
    /// </summary>
    public static (TokenGrant Grant, SandboxApp App) AppToken(HttpContext http, SandboxWorldState state)
    {
        var grant = state.Tokens.Require(Query(http, "access_token"));
        if (grant.Kind is not (TokenKind.App or TokenKind.Stable or TokenKind.Authorizer) || !state.Apps.TryGetValue(grant.Owner, out var app))
        {
            throw new WeChatApiException(40001);
        }
        return (grant, app);
    }

    /// <summary>The component token, passed as <c>component_access_token=</c> (legacy docs) or <c>access_token=</c> (new docs), §5.2.</summary>
    public static (TokenGrant Grant, SandboxComponent Component) ComponentToken(HttpContext http, SandboxWorldState state)
    {
        var token = Query(http, "component_access_token") ?? Query(http, "access_token");
        var grant = state.Tokens.Require(token);
        if (grant.Kind != TokenKind.Component || !state.Components.TryGetValue(grant.Owner, out var component))
        {
            // An app or authorizer token on a component API (§0.2).
            throw new WeChatApiException(61014);
        }
        return (grant, component);
    }

    /// <summary>Has the app authorized the component (world list, changed by the control API)?</summary>
    public static bool IsAuthorizer(SandboxWorldState state, SandboxComponent component, string appid) =>
        state.Authorizations.TryGetValue((component.ComponentAppid, appid), out var authorized)
            ? authorized
            : component.Authorizers.Contains(appid);

    public static string CallerIp(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "127.0.0.1";

    /// <summary>
    /// The legacy unionid rule (world "unionid_rule":"legacy", docs/wechat-api.md §4.3): before 2021-02-23 a bound MP got the
    /// unionid only once the user had followed a same-subject OA of the same Open Platform account, or had
    /// authorized one of its same-subject apps.
    /// </summary>
    public static bool HasLegacyUnionLink(SandboxWorldState state, SandboxUser user, SandboxApp app)
    {
        foreach (var other in state.World.Apps)
        {
            if (other.UnionSpace != app.UnionSpace || other.Subject != app.Subject)
            {
                continue;
            }
            if (other.Type == AppTypes.OfficialAccount && state.Users.FollowOf(user.Name, other.Appid) is not null)
            {
                return true;
            }
            lock (user.Gate)
            {
                if (user.AuthorizedApps.Contains(other.Appid))
                {
                    return true;
                }
            }
        }
        return false;
    }

    public static SandboxUser UserOf(SandboxWorldState state, string name) =>
        state.Users.Find(name) ?? throw new InvalidOperationException($"user '{name}' vanished");
}
