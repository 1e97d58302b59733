using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OneId.Sandbox.State;
using OneId.Sandbox.World;
using static OneId.Sandbox.Endpoints.ApiContext;

namespace OneId.Sandbox.Endpoints;

/// <summary>Browser and app OAuth (§3): code exchange, refresh, userinfo, auth; and the component variants (§3.8).</summary>
internal static class SnsEndpoints
{
    /// <summary>The grey default avatar WeChat shows for anonymous and snapshot profiles (§4.5).</summary>
    public const string DefaultAvatar = "https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132";
    public const string PlaceholderNickname = "微信用户";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/sns/oauth2/access_token", AccessToken);
        api.MapGet("/sns/oauth2/refresh_token", RefreshToken);
        api.MapGet("/sns/oauth2/component/access_token", ComponentAccessToken);
        api.MapGet("/sns/oauth2/component/refresh_token", ComponentRefreshToken);
        api.MapGet("/sns/userinfo", UserInfo);
        api.MapGet("/sns/auth", Auth);
    }

    private static IResult AccessToken(HttpContext http)
    {
        var state = StateOf(http);
        var app = AppWithSecret(state, Query(http, "appid"), Query(http, "secret"));
        return Exchange(http, state, app, componentAppid: null);
    }

    private static IResult ComponentAccessToken(HttpContext http)
    {
        var state = StateOf(http);
        var (component, app) = ComponentActingFor(http, state);
        return Exchange(http, state, app, component.ComponentAppid);
    }

    private static (SandboxComponent Component, SandboxApp App) ComponentActingFor(HttpContext http, SandboxWorldState state)
    {
        var componentAppid = Query(http, "component_appid") ?? throw new WeChatApiException(41018);
        var (_, component) = ComponentToken(http, state);
        if (component.ComponentAppid != componentAppid)
        {
            throw new WeChatApiException(61011);
        }
        var app = App(state, Query(http, "appid"));
        return IsAuthorizer(state, component, app.Appid) ? (component, app) : throw new WeChatApiException(61003);
    }

    /// <summary>
    /// Code → user token (§3.2). The response carries is_snapshotuser only for snapshot users (with virtual ids,
    /// §3.1), and unionid only when the app is bound — for an OA only with scope snsapi_userinfo.
    /// </summary>
    private static WeChatResult Exchange(HttpContext http, SandboxWorldState state, SandboxApp app, string? componentAppid)
    {
        if (app.Type is not (AppTypes.OfficialAccount or AppTypes.Website or AppTypes.MobileApp))
        {
            throw new WeChatApiException(40013);
        }
        var code = Query(http, "code") ?? throw new WeChatApiException(41008);
        if (Query(http, "grant_type") != "authorization_code")
        {
            throw new WeChatApiException(40002);
        }
        if (!state.Quotas.TryHit("sns:" + app.Appid, state.Limits.SnsOAuthPerMinute, QuotaWindow.Minute))
        {
            throw new WeChatApiException(45011);
        }
        var grant = state.Codes.Redeem(code, CodeKind.OAuth, app.Appid);
        // A code issued for a platform's page must be exchanged by that platform, and the other way round.
        if (grant.ComponentAppid != componentAppid)
        {
            throw new WeChatApiException(40029);
        }
        var user = UserOf(state, grant.User!);
        var scope = grant.Scope ?? "snsapi_base";
        var openid = grant.Snapshot ? IdDeriver.SnapshotOpenId(app.Appid, user.Name) : state.OpenIdOf(app.Appid, user.Name);
        if (!grant.Snapshot && scope != "snsapi_base")
        {
            lock (user.Gate)
            {
                user.AuthorizedApps.Add(app.Appid);
            }
        }
        var token = state.Tokens.IssueSnsToken(app.Appid, user.Name, openid, scope, grant.Snapshot, componentAppid);
        var body = new JsonObject
        {
            ["access_token"] = token.Token,
            ["expires_in"] = state.Tokens.SecondsLeft(token),
            ["refresh_token"] = token.RefreshToken,
            ["openid"] = openid,
            ["scope"] = scope,
        };
        if (grant.Snapshot)
        {
            body["is_snapshotuser"] = 1;
        }
        var unionidAllowed = app.Type != AppTypes.OfficialAccount || scope.Contains("snsapi_userinfo", StringComparison.Ordinal);
        if (app.UnionSpace is { } space && unionidAllowed)
        {
            body["unionid"] = grant.Snapshot ? IdDeriver.SnapshotUnionId(space, user.Name) : state.UnionIdInSpace(space, user.Name);
        }
        return WeChatResult.Bare(body);
    }

    private static IResult RefreshToken(HttpContext http)
    {
        var state = StateOf(http);
        var app = App(state, Query(http, "appid"));
        return Refresh(http, state, app);
    }

    private static IResult ComponentRefreshToken(HttpContext http)
    {
        var state = StateOf(http);
        var (_, app) = ComponentActingFor(http, state);
        return Refresh(http, state, app);
    }

    private static WeChatResult Refresh(HttpContext http, SandboxWorldState state, SandboxApp app)
    {
        if (Query(http, "grant_type") != "refresh_token")
        {
            throw new WeChatApiException(40002);
        }
        var refreshToken = Query(http, "refresh_token") ?? throw new WeChatApiException(41003);
        var token = state.Tokens.RefreshSnsToken(app.Appid, refreshToken);
        return WeChatResult.Bare(new JsonObject
        {
            ["access_token"] = token.Token,
            ["expires_in"] = state.Tokens.SecondsLeft(token),
            ["refresh_token"] = refreshToken,
            ["openid"] = token.OpenId,
            ["scope"] = token.Scope,
        });
    }

    private static TokenGrant UserToken(HttpContext http, SandboxWorldState state)
    {
        var grant = state.Tokens.Require(Query(http, "access_token"));
        return grant.Kind == TokenKind.SnsUser ? grant : throw new WeChatApiException(40001);
    }

    /// <summary>
    /// sns/userinfo (§3.4): needs snsapi_userinfo (or website snsapi_login); snsapi_base gives 48001. Snapshot
    /// users get the placeholder profile ("微信用户", grey avatar), as the read-only snapshot page does.
    /// </summary>
    private static IResult UserInfo(HttpContext http)
    {
        var state = StateOf(http);
        var grant = UserToken(http, state);
        var openid = Query(http, "openid") ?? throw new WeChatApiException(41009);
        if (openid != grant.OpenId)
        {
            throw new WeChatApiException(40003);
        }
        if (grant.Scope is not { } scope || !(scope.Contains("snsapi_userinfo", StringComparison.Ordinal) || scope.Contains("snsapi_login", StringComparison.Ordinal)))
        {
            throw new WeChatApiException(48001);
        }
        var user = UserOf(state, grant.User!);
        var app = state.Apps[grant.Owner];
        var body = new JsonObject
        {
            ["openid"] = openid,
            ["nickname"] = grant.Snapshot ? PlaceholderNickname : user.Nickname,
            ["sex"] = 0,
            ["language"] = "",
            ["city"] = "",
            ["province"] = "",
            ["country"] = "",
            ["headimgurl"] = grant.Snapshot ? DefaultAvatar : AvatarOf(user.Name),
            ["privilege"] = new JsonArray(),
        };
        if (app.UnionSpace is { } space)
        {
            body["unionid"] = grant.Snapshot ? IdDeriver.SnapshotUnionId(space, user.Name) : state.UnionIdInSpace(space, user.Name);
        }
        return WeChatResult.Bare(body);
    }

    /// <summary>sns/auth (§3.5): errcode 0 "ok" for a live token of this openid, 40003 otherwise.</summary>
    private static IResult Auth(HttpContext http)
    {
        var state = StateOf(http);
        var grant = UserToken(http, state);
        var openid = Query(http, "openid") ?? throw new WeChatApiException(41009);
        return openid == grant.OpenId ? WeChatResult.Ok() : throw new WeChatApiException(40003);
    }

    /// <summary>A stable, realistic avatar URL per user.</summary>
    public static string AvatarOf(string user) =>
        "https://thirdwx.qlogo.cn/mmopen/vi_32/" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("avatar:" + user)))
            .Replace('+', 'Q').Replace('/', 'x').TrimEnd('=') + "/132";
}
