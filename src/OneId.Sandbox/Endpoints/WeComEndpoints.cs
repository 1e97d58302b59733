using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OneId.Sandbox.State;
using OneId.Sandbox.World;
using static OneId.Sandbox.Endpoints.ApiContext;

namespace OneId.Sandbox.Endpoints;

/// <summary>WeCom customer-contact and id-conversion APIs (§6), served under /qyapi.</summary>
internal static class WeComEndpoints
{
    private const int FollowUserPage = 500;
    private const int MaxUserIdList = 100;
    private const int MaxPendingBatch = 100;

    /// <summary>pending_id lives 90 days.</summary>
    public static readonly TimeSpan PendingIdLifetime = PendingGrant.Lifetime;

    public static void Map(RouteGroupBuilder qy)
    {
        qy.MapGet("/cgi-bin/gettoken", GetToken);
        qy.MapGet("/cgi-bin/externalcontact/list", List);
        qy.MapGet("/cgi-bin/externalcontact/get", Get);
        qy.MapPost("/cgi-bin/externalcontact/batch/get_by_user", GetByUserAsync);
        qy.MapPost("/cgi-bin/idconvert/unionid_to_external_userid", UnionIdToExternalUserIdAsync);
        qy.MapPost("/cgi-bin/idconvert/batch/external_userid_to_pending_id", ExternalUserIdToPendingIdAsync);
        qy.MapPost("/cgi-bin/externalcontact/unionid_to_external_userid", LegacyUnionIdToExternalUserIdAsync);
        qy.MapPost("/cgi-bin/externalcontact/get_new_external_userid", GetNewExternalUserIdAsync);
        qy.MapPost("/cgi-bin/externalcontact/from_service_external_userid", FromServiceExternalUserIdAsync);
        qy.MapPost("/cgi-bin/externalcontact/convert_to_openid", ConvertToOpenIdAsync);
        qy.MapPost("/cgi-bin/batch/userid_to_openuserid", UserIdToOpenUserIdAsync);
        qy.MapPost("/cgi-bin/service/get_suite_token", GetSuiteTokenAsync);
        qy.MapPost("/cgi-bin/service/externalcontact/unionid_to_external_userid_3rd", UnionIdToExternalUserIdThirdPartyAsync);
        qy.MapGet("/cgi-bin/externalcontact/get_follow_user_list", GetFollowUserList);
        qy.MapPost("/cgi-bin/externalcontact/add_contact_way", AddContactWayAsync);
        qy.MapPost("/cgi-bin/externalcontact/get_contact_way", GetContactWayAsync);
        qy.MapPost("/cgi-bin/externalcontact/del_contact_way", DelContactWayAsync);
        ProviderEndpoints.Map(qy);
    }

    /// <summary>The suite_ticket lives 30 minutes (WeCom pushes a new one every 10).</summary>
    public static readonly TimeSpan SuiteTicketLifetime = TimeSpan.FromMinutes(30);

    /// <summary>service/get_suite_token: suite_id + suite_secret + a suite_ticket we pushed in the last 30 minutes.</summary>
    private static async Task<IResult> GetSuiteTokenAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var suiteId = Text(body, "suite_id") ?? throw new WeChatApiException(40083);
        var app = state.SuiteApps(suiteId).FirstOrDefault() ?? throw new WeChatApiException(40083);
        if (Text(body, "suite_secret") != (app.App.SuiteSecret ?? app.App.Secret))
        {
            throw new WeChatApiException(40091);
        }
        if (Text(body, "suite_ticket") is not { } ticket || !state.SuiteTickets.TryGetValue(ticket, out var issued) || issued.SuiteId != suiteId
            || state.Clock.GetUtcNow() - issued.IssuedAt > SuiteTicketLifetime)
        {
            throw new WeChatApiException(40085);
        }
        var grant = state.Tokens.IssueSuiteToken(suiteId);
        return WeChatResult.Ok(new JsonObject { ["suite_access_token"] = grant.Token, ["expires_in"] = state.Tokens.SecondsLeft(grant) });
    }

    /// <summary>
    /// unionid_to_external_userid_3rd (§6.8): the unionid (and openid) must have the provider's subject (845003);
    /// answers the provider's external_userid in every corp (or the given one) that installed the suite and where the
    /// person is a customer, with the corpid as the provider sees it.
    /// </summary>
    private static async Task<IResult> UnionIdToExternalUserIdThirdPartyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        TokenGrant grant;
        try
        {
            grant = state.Tokens.Require(Query(http, "suite_access_token"));
        }
        catch (WeChatApiException ex) when (ex.Errcode is 40001 or 42001)
        {
            throw new WeChatApiException(ex.Errcode == 42001 ? 42009 : 40082);
        }
        if (grant.Kind != TokenKind.Suite)
        {
            throw new WeChatApiException(40082);
        }
        var apps = state.SuiteApps(grant.Owner).ToList();
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var (user, space) = UserByUnionId(state, Text(body, "unionid"));
        var openidApp = CheckOpenId(state, Text(body, "openid"), user, space);
        var providerSubject = apps[0].App.ProviderSubject;
        if (space.Subject != providerSubject || (openidApp is not null && openidApp.Subject != providerSubject))
        {
            throw new WeChatApiException(845003);
        }
        var quotaKey = "idconvert-3rd:" + apps[0].App.Provider;
        if (!state.Quotas.TryHit(quotaKey, state.Limits.ThirdPartyIdConvertPerHour, QuotaWindow.Hour)
            || !state.Quotas.TryHit(quotaKey, state.Limits.ThirdPartyIdConvertPerDay, QuotaWindow.Day))
        {
            throw new WeChatApiException(45009);
        }
        var corpid = Text(body, "corpid");
        var sandboxUser = UserOf(state, user);
        var info = new JsonArray();
        foreach (var app in apps.Where(a => corpid is null || string.Equals(a.Corp.Corpid, corpid, StringComparison.OrdinalIgnoreCase)
            || string.Equals(state.CorpIdSeenBy(a), corpid, StringComparison.Ordinal)))
        {
            if (SandboxWorldState.IsCustomer(sandboxUser, app.Corp))
            {
                // The corpid as the provider sees it: the open corpid once the corp's provider ids are upgraded.
                info.Add(new JsonObject { ["corpid"] = state.CorpIdSeenBy(app), ["external_userid"] = state.ExternalUserIdOf(app, user) });
            }
        }
        return WeChatResult.Ok(new JsonObject { ["external_userid_info"] = info });
    }

    private static List<string> StringList(JsonObject body, string name) =>
        (body[name] as JsonArray)?.Select(n => n?.GetValue<string>() ?? "").ToList() ?? [];

    /// <summary>
    /// get_new_external_userid (WeCom's id upgrade for providers): old ciphertext ids → the new ones; ids that are
    /// already new map to themselves; unknown ids are left out. In a corp authorized before the upgrade the corp admin
    /// must have agreed first (agree_external_userid_migration); before that we answer 48002 "api forbidden" (the
    /// docs do not name the code). At most 1000 ids (unconfirmed upstream; 40058 beyond).
    /// </summary>
    private static async Task<IResult> GetNewExternalUserIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = ProviderAppOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var ids = StringList(body, "external_userid_list");
        if (ids.Count is 0 or > 1000)
        {
            throw new WeChatApiException(40058);
        }
        if (!state.ViewOf(app).Agreed)
        {
            throw new WeChatApiException(48002);
        }
        var provider = app.App.Provider!;
        var items = new JsonArray();
        foreach (var id in ids)
        {
            var user = state.UserByLegacyExternalUserId(app.Corp, provider, id) ?? state.UserByUpgradedExternalUserId(app.Corp, provider, id);
            if (user is not null)
            {
                items.Add(new JsonObject { ["external_userid"] = id, ["new_external_userid"] = state.ProviderExternalUserId(app.Corp, provider, user) });
            }
        }
        return WeChatResult.Ok(new JsonObject { ["items"] = items });
    }

    /// <summary>from_service_external_userid (§6.13): a provider app's id (named by its agentid) → the self-built plaintext id.</summary>
    private static async Task<IResult> FromServiceExternalUserIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        if (app.IsProvider)
        {
            throw new WeChatApiException(48002);
        }
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var agentId = body["source_agentid"] is JsonValue v && v.TryGetValue<int>(out var a) ? a : throw new WeChatApiException(40058);
        var source = app.Corp.Apps.Find(x => x.Kind == CorpAppKinds.Provider && x.AgentId == agentId) ?? throw new WeChatApiException(40058);
        var user = state.UserByExternalUserId(new CorpAppRef(app.Corp, source), Text(body, "external_userid") ?? "") ?? throw new WeChatApiException(40096);
        return WeChatResult.Ok(new JsonObject { ["external_userid"] = state.PlainExternalUserId(app.Corp, user) });
    }

    /// <summary>
    /// convert_to_openid (§6.13): a self-built app turns a WeChat customer's external_userid into an openid. We answer
    /// with the openid in the corp's developer appid (the doc does not name the app; this is the one bound to the corp).
    /// </summary>
    private static async Task<IResult> ConvertToOpenIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        if (app.IsProvider)
        {
            throw new WeChatApiException(48002);
        }
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var user = state.UserByExternalUserId(app, Text(body, "external_userid") ?? "") ?? throw new WeChatApiException(40096);
        var developer = app.Corp.DeveloperAppid ?? throw new WeChatApiException(48002);
        return WeChatResult.Ok(new JsonObject { ["openid"] = state.OpenIdOf(developer, user) });
    }

    /// <summary>batch/userid_to_openuserid (§6.12): member userids → open_userid of the app's provider; unknown ones listed apart.</summary>
    private static async Task<IResult> UserIdToOpenUserIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var userids = StringList(body, "userid_list");
        if (userids.Count is 0 or > 1000)
        {
            throw new WeChatApiException(40031);
        }
        var provider = app.App.Provider ?? "corp:" + app.Corp.Corpid.ToUpperInvariant();
        var mapped = new JsonArray();
        var invalid = new JsonArray();
        foreach (var userid in userids)
        {
            if (app.Corp.Members.Contains(userid))
            {
                mapped.Add(new JsonObject { ["userid"] = userid, ["open_userid"] = IdDeriver.OpenUserId(app.Corp.Corpid, provider, userid) });
            }
            else
            {
                invalid.Add(userid);
            }
        }
        return WeChatResult.Ok(new JsonObject { ["open_userid_list"] = mapped, ["invalid_userid_list"] = invalid });
    }

    /// <summary>gettoken (§6.1): one token per app, the same while it lives; 40013 corp, 40001 secret, 40091 another corp's secret.</summary>
    private static IResult GetToken(HttpContext http)
    {
        var state = StateOf(http);
        var corpid = Query(http, "corpid") ?? throw new WeChatApiException(41002);
        var secret = Query(http, "corpsecret") ?? throw new WeChatApiException(41004);
        if (!state.Corps.TryGetValue(corpid, out var corp))
        {
            throw new WeChatApiException(40013);
        }
        if (state.CorpAppBySecret(corp, secret) is not { } app)
        {
            var otherCorp = state.World.Corps.Exists(c => c != corp && c.Apps.Exists(a => a.Secret == secret));
            throw new WeChatApiException(otherCorp ? 40091 : 40001);
        }
        if (!state.Quotas.TryHit("gettoken:" + app.Key, state.Limits.WeComGetTokenPerMinute, QuotaWindow.Minute))
        {
            throw new WeChatApiException(45009);
        }
        var grant = state.Tokens.IssueWeComToken(app.Key);
        return WeChatResult.Ok(new JsonObject { ["access_token"] = grant.Token, ["expires_in"] = state.Tokens.SecondsLeft(grant) });
    }

    /// <summary>A WeCom app token: 41001 missing, 40014 unknown, 42001 expired.</summary>
    private static CorpAppRef AppOf(HttpContext http, SandboxWorldState state)
    {
        TokenGrant grant;
        try
        {
            grant = state.Tokens.Require(Query(http, "access_token"));
        }
        catch (WeChatApiException ex) when (ex.Errcode == 40001)
        {
            throw new WeChatApiException(40014);
        }
        if (grant.Kind != TokenKind.WeCom || state.CorpAppByKey(grant.Owner) is not { } app)
        {
            throw new WeChatApiException(40014);
        }
        // WeCom's base frequency: per corp, one API at most 10,000 calls a minute and 150,000 an hour (45009).
        var key = "wecom-api:" + app.Corp.Corpid.ToUpperInvariant() + ":" + http.Request.Path.Value;
        if (!state.Quotas.TryHit(key, state.Limits.WeComApiPerMinute, QuotaWindow.Minute)
            || !state.Quotas.TryHit(key, state.Limits.WeComApiPerHour, QuotaWindow.Hour))
        {
            throw new WeChatApiException(45009);
        }
        return app;
    }

    /// <summary>
    /// externalcontact/list (§6.2). A member without customers answers 84061, as the SDK mocks show, rather than
    /// an empty list.
    /// </summary>
    private static IResult List(HttpContext http)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        var asSeen = Query(http, "userid") ?? throw new WeChatApiException(40003);
        var member = state.MemberFromView(app, asSeen) ?? throw new WeChatApiException(60111);
        var customers = state.CustomersOf(app.Corp, member).All();
        if (customers.Count == 0)
        {
            throw new WeChatApiException(84061);
        }
        return WeChatResult.Ok(new JsonObject { ["external_userid"] = new JsonArray([.. customers.Select(u => (JsonNode)state.ExternalUserIdOf(app, u))]) });
    }

    /// <summary>externalcontact/get (§6.3): 40096 unknown id, 84061 not a customer; follow_user paged at 500.</summary>
    private static IResult Get(HttpContext http)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        var externalUserId = Query(http, "external_userid") ?? throw new WeChatApiException(40096);
        var user = state.UserByExternalUserId(app, externalUserId) ?? throw new WeChatApiException(40096);
        var sandboxUser = UserOf(state, user);
        var follows = FollowsOf(sandboxUser, app.Corp);
        if (follows.Count == 0)
        {
            throw new WeChatApiException(84061);
        }
        var (_, start) = DecodeCursor(Query(http, "cursor"));
        var page = follows.Skip(start).Take(FollowUserPage).ToList();
        var followUsers = new JsonArray();
        foreach (var contact in page)
        {
            followUsers.Add(FollowObject(state, app, contact, tagsAsObjects: true));
        }
        return WeChatResult.Ok(new JsonObject
        {
            ["external_contact"] = ContactObject(state, app, sandboxUser, externalUserId),
            ["follow_user"] = followUsers,
            ["next_cursor"] = start + page.Count < follows.Count ? EncodeCursor(0, start + page.Count) : "",
        });
    }

    /// <summary>
    /// batch/get_by_user: userid_list at most 100 (40031; unknown members 60111), limit default 50 and clamped to
    /// 100, cursor until next_cursor is empty. The cursor names (member, position in that member's add order), so a
    /// page costs O(limit) however many customers the members have.
    /// </summary>
    private static async Task<IResult> GetByUserAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var asSeen = (body["userid_list"] as JsonArray)?.Select(n => n?.GetValue<string>() ?? "").ToList() ?? [];
        if (asSeen.Count is 0 or > MaxUserIdList || asSeen.Exists(m => m.Length == 0))
        {
            throw new WeChatApiException(40031);
        }
        var members = new List<string>(asSeen.Count);
        foreach (var id in asSeen)
        {
            members.Add(state.MemberFromView(app, id) ?? throw new WeChatApiException(60111));
        }
        var limit = body["limit"] is JsonValue l && l.TryGetValue<int>(out var requested) && requested > 0 ? Math.Min(requested, 100) : 50;
        var (memberIndex, position) = DecodeCursor(Text(body, "cursor"));
        var list = new JsonArray();
        var page = new List<string>(limit);
        while (memberIndex < members.Count && list.Count < limit)
        {
            var member = members[memberIndex];
            page.Clear();
            position = state.CustomersOf(app.Corp, member).Page(position, limit - list.Count, page);
            foreach (var user in page)
            {
                var sandboxUser = UserOf(state, user);
                if (ContactOf(sandboxUser, app.Corp, member) is not { } contact)
                {
                    continue;
                }
                list.Add(new JsonObject
                {
                    ["external_contact"] = ContactObject(state, app, sandboxUser, state.ExternalUserIdOf(app, user)),
                    ["follow_info"] = FollowObject(state, app, contact, tagsAsObjects: false),
                });
            }
            if (list.Count < limit)
            {
                memberIndex++;
                position = 0;
            }
        }
        // More to come if this member has customers after the position, or any later member has one.
        var more = memberIndex < members.Count
            && (state.CustomersOf(app.Corp, members[memberIndex]).AnyFrom(position)
                || members.Skip(memberIndex + 1).Any(m => state.CustomersOf(app.Corp, m).Count > 0));
        var next = more ? EncodeCursor(memberIndex, position) : "";
        return WeChatResult.Ok(new JsonObject { ["external_contact_list"] = list, ["next_cursor"] = next });
    }

    /// <summary>
    /// get_follow_user_list: the members configured for customer contact, as the app sees their userids. Every member
    /// of a sandbox corp has customer contact.
    /// </summary>
    private static IResult GetFollowUserList(HttpContext http)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        return WeChatResult.Ok(new JsonObject
        {
            ["follow_user"] = new JsonArray([.. app.Corp.Members.Select(m => (JsonNode)state.MemberIdSeenBy(app, m))]),
        });
    }

    private const int MaxContactWayState = 30;

    /// <summary>
    /// add_contact_way ("联系我"): type 1 (one member) or 2 (several), scene 1 (mini program button) or 2 (QR code),
    /// state at most 30 characters, user = member userids as the app sees them. Answers config_id, and qr_code for
    /// scene 2. Bad parameters answer 40058, unknown members 60111.
    /// </summary>
    private static async Task<IResult> AddContactWayAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        int? Int(string name) => body[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
        var type = Int("type");
        var scene = Int("scene");
        var wayState = Text(body, "state");
        var asSeen = StringList(body, "user");
        if (type is not (1 or 2) || scene is not (1 or 2) || wayState is { Length: > MaxContactWayState } || asSeen.Count == 0 || (type == 1 && asSeen.Count != 1))
        {
            throw new WeChatApiException(40058);
        }
        var members = new List<string>(asSeen.Count);
        foreach (var id in asSeen)
        {
            members.Add(state.MemberFromView(app, id) ?? throw new WeChatApiException(60111));
        }
        var configId = IdDeriver.ConfigId();
        var qr = scene == 2 ? "https://wework.qpic.cn/wwpic/" + configId[..16] + "/0" : null;
        var skipVerify = body["skip_verify"] is not JsonValue sv || !sv.TryGetValue<bool>(out var skip) || skip;
        state.ContactWays[configId] = new ContactWay(configId, app.Corp.Corpid, type.Value, scene.Value, wayState, members, skipVerify, Text(body, "remark"), qr, app.Key);
        var answer = new JsonObject { ["config_id"] = configId };
        if (qr is not null)
        {
            answer["qr_code"] = qr;
        }
        return WeChatResult.Ok(answer);
    }

    private static async Task<ContactWay> ContactWayOfAsync(HttpContext http, SandboxWorldState state, CorpAppRef app, CancellationToken cancellationToken)
    {
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var configId = Text(body, "config_id") ?? throw new WeChatApiException(40058);
        return state.ContactWays.TryGetValue(configId, out var way) && string.Equals(way.Corpid, app.Corp.Corpid, StringComparison.OrdinalIgnoreCase)
            ? way
            : throw new WeChatApiException(40058);
    }

    /// <summary>get_contact_way: the configuration as made (members as the app sees them).</summary>
    private static async Task<IResult> GetContactWayAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        var way = await ContactWayOfAsync(http, state, app, cancellationToken).ConfigureAwait(false);
        var contactWay = new JsonObject
        {
            ["config_id"] = way.ConfigId,
            ["type"] = way.Type,
            ["scene"] = way.Scene,
            ["remark"] = way.Remark ?? "",
            ["skip_verify"] = way.SkipVerify,
            ["state"] = way.State ?? "",
            ["user"] = new JsonArray([.. way.Members.Select(m => (JsonNode)state.MemberIdSeenBy(app, m))]),
        };
        if (way.QrCode is not null)
        {
            contactWay["qr_code"] = way.QrCode;
        }
        return WeChatResult.Ok(new JsonObject { ["contact_way"] = contactWay });
    }

    /// <summary>del_contact_way: the configuration stops working; scanning it afterwards adds no one.</summary>
    private static async Task<IResult> DelContactWayAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = AppOf(http, state);
        var way = await ContactWayOfAsync(http, state, app, cancellationToken).ConfigureAwait(false);
        state.ContactWays.TryRemove(way.ConfigId, out _);
        return WeChatResult.Ok();
    }

    /// <summary>
    /// external_contact (§6.3, §6.14): a self-built app sees the unionid when the corp's developer appid is bound to
    /// an Open Platform account (which issues it); provider apps never do.
    /// </summary>
    private static JsonObject ContactObject(SandboxWorldState state, CorpAppRef app, SandboxUser user, string externalUserId)
    {
        var contact = new JsonObject
        {
            ["external_userid"] = externalUserId,
            ["name"] = user.Nickname,
            ["avatar"] = SnsEndpoints.AvatarOf(user.Name),
            ["type"] = 1,
            ["gender"] = 0,
        };
        if (!app.IsProvider && app.Corp.DeveloperAppid is { } developer && state.Apps.TryGetValue(developer, out var devApp)
            && state.UnionIdOf(devApp, user.Name) is { } unionid)
        {
            contact["unionid"] = unionid;
        }
        return contact;
    }

    private static JsonObject FollowObject(SandboxWorldState state, CorpAppRef app, ContactState contact, bool tagsAsObjects)
    {
        var memberId = state.MemberIdSeenBy(app, contact.MemberUserId);
        var follow = new JsonObject
        {
            ["userid"] = memberId,
            ["remark"] = "",
            ["description"] = "",
            ["createtime"] = contact.CreateTime,
        };
        // get returns tag objects, get_by_user's follow_info only tag ids (§6.4).
        follow[tagsAsObjects ? "tags" : "tag_id"] = new JsonArray();
        follow["remark_corp_name"] = "";
        follow["remark_mobiles"] = new JsonArray();
        follow["add_way"] = contact.AddWay;
        // Added by the customer: oper_userid is the customer's id in WeCom's docs for add_way 1; we name the member.
        follow["oper_userid"] = memberId;
        if (contact.State is not null)
        {
            follow["state"] = contact.State;
        }
        return follow;
    }

    internal static ContactState? ContactOf(SandboxUser user, SandboxCorp corp, string member)
    {
        lock (user.Gate)
        {
            return user.Contacts.TryGetValue(corp.Corpid.ToUpperInvariant(), out var byMember) ? byMember.GetValueOrDefault(member) : null;
        }
    }

    internal static List<ContactState> FollowsOf(SandboxUser user, SandboxCorp corp)
    {
        lock (user.Gate)
        {
            return user.Contacts.TryGetValue(corp.Corpid.ToUpperInvariant(), out var byMember)
                ? [.. byMember.Values.OrderBy(c => c.CreateTime)]
                : [];
        }
    }

    private static CorpAppRef ProviderAppOf(HttpContext http, SandboxWorldState state)
    {
        var app = AppOf(http, state);
        // The id-conversion APIs are for third-party and 代开发 apps (§6.5, §6.6); a self-built app is refused.
        return app.IsProvider ? app : throw new WeChatApiException(48002);
    }

    private static (string User, UnionSpace Space) UserByUnionId(SandboxWorldState state, string? unionid)
    {
        if (unionid is null)
        {
            throw new WeChatApiException(40058);
        }
        foreach (var space in state.World.UnionSpaces)
        {
            if (state.UserByUnionId(space.Id, unionid) is { } user)
            {
                return (user, space);
            }
        }
        throw new WeChatApiException(40058);
    }

    /// <summary>The openid, when given, must be the same user's in an app of the same union space (§6.5, §6.6).</summary>
    private static SandboxApp? CheckOpenId(SandboxWorldState state, string? openid, string user, UnionSpace space)
    {
        if (openid is null)
        {
            return null;
        }
        foreach (var app in state.World.Apps)
        {
            if (app.UnionSpace == space.Id && state.UserByOpenId(app.Appid, openid) == user)
            {
                return app;
            }
        }
        throw new WeChatApiException(40058);
    }

    /// <summary>
    /// idconvert/unionid_to_external_userid (§6.6): the ids' subject must equal the corp's (subject_type 0) or the
    /// provider's (1), else 845003. A customer gets the provider's external_userid; anyone else a pending_id (90 days).
    /// </summary>
    private static async Task<IResult> UnionIdToExternalUserIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = ProviderAppOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var subjectType = body["subject_type"] is JsonValue st && st.TryGetValue<int>(out var t) ? t : 0;
        if (subjectType is not (0 or 1))
        {
            throw new WeChatApiException(40058);
        }
        var (user, space) = UserByUnionId(state, Text(body, "unionid"));
        var openidApp = CheckOpenId(state, Text(body, "openid"), user, space);
        var expectedSubject = subjectType == 1 ? app.App.ProviderSubject : app.Corp.Subject;
        if (space.Subject != expectedSubject || (openidApp is not null && openidApp.Subject != expectedSubject))
        {
            throw new WeChatApiException(845003);
        }
        var quotaKey = subjectType == 1 ? "idconvert:provider:" + app.App.Provider : "idconvert:corp:" + app.Corp.Corpid.ToUpperInvariant();
        if (!state.Quotas.TryHit(quotaKey, state.Limits.IdConvertPerHour, QuotaWindow.Hour)
            || !state.Quotas.TryHit(quotaKey, state.Limits.IdConvertPerDay, QuotaWindow.Day))
        {
            throw new WeChatApiException(45009);
        }
        var sandboxUser = UserOf(state, user);
        if (SandboxWorldState.IsCustomer(sandboxUser, app.Corp))
        {
            return WeChatResult.Ok(new JsonObject { ["external_userid"] = state.ExternalUserIdOf(app, user) });
        }
        var key = (app.Corp.Corpid.ToUpperInvariant(), app.PendingKey, user);
        var now = state.Clock.GetUtcNow();
        // The same pending_id for 90 days; after that a new one (a pending_id is temporary, valid 90 days).
        var grant = state.PendingIds.AddOrUpdate(key, new PendingGrant(now, 0),
            (_, issued) => now - issued.IssuedAt > PendingGrant.Lifetime ? new PendingGrant(now, issued.Generation + 1) : issued);
        return WeChatResult.Ok(new JsonObject { ["pending_id"] = IdDeriver.PendingId(app.Corp.Corpid, app.PendingKey, user, grant.Generation) });
    }

    /// <summary>
    /// idconvert/batch/external_userid_to_pending_id (§6.7): at most 100 ids; only customers for whom a pending_id
    /// was issued in the last 90 days appear in result.
    /// </summary>
    private static async Task<IResult> ExternalUserIdToPendingIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = ProviderAppOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var ids = (body["external_userid"] as JsonArray)?.Select(n => n?.GetValue<string>() ?? "").ToList() ?? [];
        if (ids.Count is 0 or > MaxPendingBatch)
        {
            throw new WeChatApiException(40058);
        }
        var result = new JsonArray();
        foreach (var id in ids)
        {
            // An expired (older than 90 days) or never-issued pending_id is simply not in result: the API answers
            // errcode 0 and leaves the id out, as it does for any id without a pending_id.
            if (state.UserByExternalUserId(app, id) is { } user
                && state.LivePendingId(app, user) is { } pendingId
                && SandboxWorldState.IsCustomer(UserOf(state, user), app.Corp))
            {
                result.Add(new JsonObject { ["external_userid"] = id, ["pending_id"] = pendingId });
            }
        }
        return WeChatResult.Ok(new JsonObject { ["result"] = result });
    }

    /// <summary>
    /// The older externalcontact/unionid_to_external_userid (§6.5): unionid and the MP openid must both have the
    /// corp's subject (845003), and only existing customers convert (84061 otherwise).
    /// </summary>
    private static async Task<IResult> LegacyUnionIdToExternalUserIdAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var app = ProviderAppOf(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var (user, space) = UserByUnionId(state, Text(body, "unionid"));
        var openidApp = CheckOpenId(state, Text(body, "openid"), user, space);
        if (space.Subject != app.Corp.Subject || (openidApp is not null && openidApp.Subject != app.Corp.Subject))
        {
            throw new WeChatApiException(845003);
        }
        return SandboxWorldState.IsCustomer(UserOf(state, user), app.Corp)
            ? WeChatResult.Ok(new JsonObject { ["external_userid"] = state.ExternalUserIdOf(app, user) })
            : throw new WeChatApiException(84061);
    }

    private static (int Member, int Position) DecodeCursor(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return (0, 0);
        }
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(cursor)).Split(':');
            return parts.Length == 3 && parts[0] == "c"
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var m)
                && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var p)
                ? (m, p)
                : throw new WeChatApiException(40058);
        }
        catch (FormatException)
        {
            throw new WeChatApiException(40058);
        }
    }

    private static string EncodeCursor(int member, int position) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("c:" + member.ToString(CultureInfo.InvariantCulture) + ":" + position.ToString(CultureInfo.InvariantCulture)));
}
