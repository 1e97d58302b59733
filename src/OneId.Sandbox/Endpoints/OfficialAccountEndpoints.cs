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
        api.MapPost("/cgi-bin/qrcode/create", CreateQrCodeAsync);
        api.MapPost("/cgi-bin/changeopenid", ChangeOpenIdAsync);
    }

    /// <summary>Temporary QR codes live 60 s by default and at most 30 days; permanent scene ids run 1 to 100,000.</summary>
    public const int QrDefaultSeconds = 60;
    public const int QrMaxSeconds = 2_592_000;
    public const int PermanentSceneIdMax = 100_000;
    public const int PermanentQrCodesMax = 100_000;
    private const int ChangeOpenIdMax = 100;

    /// <summary>
    /// qrcode/create: a parametric QR code (QR_SCENE / QR_STR_SCENE temporary, QR_LIMIT_SCENE / QR_LIMIT_STR_SCENE
    /// permanent). scene_id is a non-zero 32-bit number (1..100000 when permanent), scene_str 1 to 64 characters.
    /// The errcodes for a bad action_name (40052) or scene (40053) and for the 100,000 permanent codes (45009) are our
    /// choice: the docs name the limits, not the codes.
    /// </summary>
    private static async Task<IResult> CreateQrCodeAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = OfficialAccountOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var action = Text(body, "action_name");
        var permanent = action is "QR_LIMIT_SCENE" or "QR_LIMIT_STR_SCENE";
        var isString = action is "QR_STR_SCENE" or "QR_LIMIT_STR_SCENE";
        if (action is not ("QR_SCENE" or "QR_STR_SCENE" or "QR_LIMIT_SCENE" or "QR_LIMIT_STR_SCENE"))
        {
            throw new WeChatApiException(40052);
        }
        var scene = (body["action_info"] as JsonObject)?["scene"] as JsonObject ?? throw new WeChatApiException(40053);
        long sceneId = 0;
        string? sceneStr = null;
        if (isString)
        {
            sceneStr = Text(scene, "scene_str");
            if (sceneStr is null || sceneStr.Length > 64)
            {
                throw new WeChatApiException(40053);
            }
        }
        else
        {
            sceneId = scene["scene_id"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;
            if (sceneId is <= 0 or > uint.MaxValue || (permanent && sceneId is < 1 or > PermanentSceneIdMax))
            {
                throw new WeChatApiException(40053);
            }
        }
        DateTimeOffset? expiresAt = null;
        var seconds = 0L;
        if (!permanent)
        {
            seconds = body["expire_seconds"] is JsonValue e && e.TryGetValue<long>(out var requested) && requested > 0 ? Math.Min(requested, QrMaxSeconds) : QrDefaultSeconds;
            expiresAt = state.Clock.GetUtcNow().AddSeconds(seconds);
        }
        else if (state.PermanentQrCodes.AddOrUpdate(app.Appid, 1, (_, c) => c + 1) > PermanentQrCodesMax)
        {
            state.PermanentQrCodes.AddOrUpdate(app.Appid, 0, (_, c) => c - 1);
            throw new WeChatApiException(45009);
        }
        var ticket = IdDeriver.QrTicket();
        state.QrCodes[ticket] = new QrCode(ticket, app.Appid, sceneId, sceneStr, permanent, expiresAt);
        var answer = new JsonObject { ["ticket"] = ticket };
        if (!permanent)
        {
            answer["expire_seconds"] = seconds;
        }
        answer["url"] = "http://weixin.qq.com/q/" + ticket[2..24];
        return WeChatResult.Bare(answer);
    }

    /// <summary>
    /// changeopenid (OA account migration, 帐号迁移): called with the NEW account's token, from_appid the old account,
    /// at most 100 openids of the old account. Each entry answers ori_openid + new_openid + err_msg "ok", or
    /// ori_openid + err_msg "ori_openid error" when it was not a follower of the old account at the migration. The
    /// call works for 15 days after the migration; the errcodes outside the happy path are our choice: 40013 when no
    /// migration from from_appid exists, 40032 for an empty or oversized list, 48001 once the 15 days are over.
    /// </summary>
    private static async Task<IResult> ChangeOpenIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = OfficialAccountOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var from = Text(body, "from_appid") ?? throw new WeChatApiException(41002);
        if (!state.Migrations.TryGetValue((app.Appid, from), out var migration))
        {
            throw new WeChatApiException(40013);
        }
        var list = body["openid_list"] as JsonArray ?? throw new WeChatApiException(47001);
        if (list.Count is 0 or > ChangeOpenIdMax)
        {
            throw new WeChatApiException(40032);
        }
        if (state.Clock.GetUtcNow() - migration.At > AccountMigration.ChangeOpenIdWindow)
        {
            throw new WeChatApiException(48001);
        }
        var results = new JsonArray();
        foreach (var item in list)
        {
            var openid = item is JsonValue v && v.TryGetValue<string>(out var o) ? o : "";
            var user = openid.Length == 0 ? null : state.UserByOpenId(from, openid);
            results.Add(user is not null && migration.Users.Contains(user)
                ? new JsonObject { ["ori_openid"] = openid, ["new_openid"] = state.OpenIdOf(app.Appid, user), ["err_msg"] = "ok" }
                : new JsonObject { ["ori_openid"] = openid, ["err_msg"] = "ori_openid error" });
        }
        return WeChatResult.Ok(new JsonObject { ["result_list"] = results });
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
    /// The user/info object. Since 2021-12 the profile fields are blanked but still present. For a non-follower
    /// WeChat sends subscribe 0, the openid and — when the OA is bound to an Open Platform account — the unionid,
    /// nothing else ("只有openid和UnionID", as the official field text and its batchget sample show).
    /// </summary>
    private static JsonObject FollowerObject(SandboxWorldState state, SandboxApp app, string openid)
    {
        var user = state.UserByOpenId(app.Appid, openid) ?? throw new WeChatApiException(40003);
        var follow = state.Users.FollowOf(user, app.Appid);
        if (follow is not { Subscribed: true })
        {
            var stranger = new JsonObject { ["subscribe"] = 0, ["openid"] = openid };
            if (state.UnionIdOf(app, user) is { } strangerUnionId)
            {
                stranger["unionid"] = strangerUnionId;
            }
            return stranger;
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
        info["qr_scene"] = follow.QrScene;
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
            var position = followers.PositionOf(next);
            start = position >= 0 ? position + 1 : throw new WeChatApiException(40003);
        }
        var page = followers.Page(start, UserGetPageSize);
        var body = new JsonObject { ["total"] = followers.Total, ["count"] = page.Count };
        if (page.Count == 0)
        {
            body["next_openid"] = "";
            return WeChatResult.Bare(body);
        }
        body["data"] = new JsonObject { ["openid"] = new JsonArray([.. page.Select(o => (JsonNode)o)]) };
        body["next_openid"] = page[^1];
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
