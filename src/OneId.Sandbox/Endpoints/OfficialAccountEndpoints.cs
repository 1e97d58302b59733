using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OneId.Sandbox.State;
using OneId.Sandbox.World;
using static OneId.Sandbox.Endpoints.ApiContext;

namespace OneId.Sandbox.Endpoints;

/// <summary>Global tokens (§1) and OA follower APIs (§2).</summary>
internal static class OfficialAccountEndpoints
{
    private const int UserGetPageSize = 10_000;
    private const int BatchGetMax = 100;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/cgi-bin/token", Token);
        api.MapPost("/cgi-bin/stable_token", StableTokenAsync);
        api.MapGet("/cgi-bin/stable_token", () => Throw(43002));
        api.MapGet("/cgi-bin/user/info", UserInfo);
        api.MapPost("/cgi-bin/user/info/batchget", BatchGetAsync);
        api.MapGet("/cgi-bin/user/get", UserGet);
        api.MapPost("/cgi-bin/clear_quota", ClearQuotaAsync);
    }

    private static IResult Throw(int errcode) => throw new WeChatApiException(errcode);

    private static IResult Token(HttpContext http)
    {
        var state = StateOf(http);
        if (Query(http, "grant_type") != "client_credential")
        {
            throw new WeChatApiException(40002);
        }
        var app = AppWithSecret(state, Query(http, "appid"), Query(http, "secret"));
        var quota = app.Type == AppTypes.OfficialAccount ? state.Limits.OfficialAccountTokenPerDay : state.Limits.OtherAppTokenPerDay;
        if (!state.Quotas.TryHit("token:" + app.Appid, quota, QuotaWindow.Day))
        {
            throw new WeChatApiException(45009);
        }
        var grant = state.Tokens.IssueAppToken(app.Appid);
        return WeChatResult.Bare(new JsonObject { ["access_token"] = grant.Token, ["expires_in"] = state.Tokens.SecondsLeft(grant) });
    }

    private static async Task<IResult> StableTokenAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        if (Text(body, "grant_type") != "client_credential")
        {
            throw new WeChatApiException(40002);
        }
        var app = AppWithSecret(state, Text(body, "appid"), Text(body, "secret"));
        if (!state.Quotas.TryHit("stable-minute:" + app.Appid, state.Limits.StableTokenPerMinute, QuotaWindow.Minute))
        {
            throw new WeChatApiException(45011);
        }
        if (!state.Quotas.TryHit("stable-day:" + app.Appid, state.Limits.StableTokenPerDay, QuotaWindow.Day))
        {
            throw new WeChatApiException(45009);
        }
        var force = body["force_refresh"] is JsonValue v && (v.TryGetValue<bool>(out var b) ? b : v.TryGetValue<string>(out var s) && s == "true");
        var grant = state.Tokens.IssueStableToken(app.Appid, force);
        return WeChatResult.Bare(new JsonObject { ["access_token"] = grant.Token, ["expires_in"] = state.Tokens.SecondsLeft(grant) });
    }

    private static SandboxApp OfficialAccountOf(HttpContext http, SandboxWorldState state)
    {
        var (_, app) = AppToken(http, state);
        // Follower APIs belong to OAs; an MP token has no followers (48001 api unauthorized).
        return app.Type == AppTypes.OfficialAccount ? app : throw new WeChatApiException(48001);
    }

    private static IResult UserInfo(HttpContext http)
    {
        var state = StateOf(http);
        var app = OfficialAccountOf(http, state);
        var openid = Query(http, "openid") ?? throw new WeChatApiException(41009);
        return WeChatResult.Bare(FollowerObject(state, app, openid));
    }

    private static async Task<IResult> BatchGetAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = OfficialAccountOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var list = body["user_list"] as JsonArray ?? throw new WeChatApiException(47001);
        // At most 100 per call (§2.2). The errcode for more is unconfirmed; 40032 "invalid openid list size" is
        // WeChat's code for a list of the wrong size elsewhere, so we use it for empty and oversized lists.
        if (list.Count is 0 or > BatchGetMax)
        {
            throw new WeChatApiException(40032);
        }
        var infos = new JsonArray();
        foreach (var item in list)
        {
            var openid = item is JsonObject o ? Text(o, "openid") : null;
            // One bad openid fails the whole call with 40003 (§2.2 says "likely").
            infos.Add(FollowerObject(state, app, openid ?? throw new WeChatApiException(40003)));
        }
        return WeChatResult.Bare(new JsonObject { ["user_info_list"] = infos });
    }

    /// <summary>
    /// The user/info object (§2.1). Since 2021-12 the profile fields are blanked but still present. For a
    /// non-follower WeChat sends only subscribe 0 and openid (the extra fields are unconfirmed; we send none).
    /// </summary>
    private static JsonObject FollowerObject(SandboxWorldState state, SandboxApp app, string openid)
    {
        var user = state.UserByOpenId(app.Appid, openid) ?? throw new WeChatApiException(40003);
        var follow = state.Users.FollowOf(user, app.Appid);
        if (follow is not { Subscribed: true })
        {
            return new JsonObject { ["subscribe"] = 0, ["openid"] = openid };
        }
        var info = new JsonObject
        {
            ["subscribe"] = 1,
            ["openid"] = openid,
            ["nickname"] = "",
            ["sex"] = 0,
            ["language"] = "zh_CN",
            ["city"] = "",
            ["province"] = "",
            ["country"] = "",
            ["headimgurl"] = "",
            ["subscribe_time"] = follow.SubscribeTime,
        };
        if (state.UnionIdOf(app, user) is { } unionid)
        {
            info["unionid"] = unionid;
        }
        info["remark"] = "";
        info["groupid"] = 0;
        info["tagid_list"] = new JsonArray();
        info["subscribe_scene"] = follow.Scene;
        info["qr_scene"] = 0;
        info["qr_scene_str"] = follow.QrSceneStr;
        return info;
    }

    /// <summary>
    /// user/get (§2.3): 10000 openids a page; next_openid is the last openid of the page; a call after the last
    /// page answers count 0, no data and next_openid "" (the doc's example is silent; this is the recommended reading).
    /// </summary>
    private static IResult UserGet(HttpContext http)
    {
        var state = StateOf(http);
        var app = OfficialAccountOf(http, state);
        var followers = state.Users.FollowersOf(app.Appid);
        var start = 0;
        if (Query(http, "next_openid") is { } next)
        {
            start = followers.Positions.TryGetValue(next, out var position) ? position + 1 : throw new WeChatApiException(40003);
        }
        var count = Math.Min(UserGetPageSize, followers.OpenIds.Count - start);
        var body = new JsonObject { ["total"] = followers.OpenIds.Count, ["count"] = count };
        if (count == 0)
        {
            body["next_openid"] = "";
            return WeChatResult.Bare(body);
        }
        var page = new JsonArray();
        for (var i = start; i < start + count; i++)
        {
            page.Add(followers.OpenIds[i]);
        }
        body["data"] = new JsonObject { ["openid"] = page };
        body["next_openid"] = followers.OpenIds[start + count - 1];
        return WeChatResult.Bare(body);
    }

    /// <summary>cgi-bin/clear_quota (§0.2 45009): resets the daily counters of the app.</summary>
    private static async Task<IResult> ClearQuotaAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var (_, app) = AppToken(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        if (Text(body, "appid") != app.Appid)
        {
            throw new WeChatApiException(40013);
        }
        state.Quotas.Clear("token:" + app.Appid);
        state.Quotas.Clear("stable-day:" + app.Appid);
        return WeChatResult.Ok();
    }
}
