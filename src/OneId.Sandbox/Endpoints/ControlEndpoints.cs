using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using OneId.Sandbox.Pushes;
using OneId.Sandbox.State;
using OneId.Sandbox.World;
using OneId.WeChat.Crypto;

namespace OneId.Sandbox.Endpoints;

/// <summary>
/// The control API under /_sandbox (its routes are a stable contract, see docs/sandbox.md): plays the users and the admins, moves the clock, injects
/// faults and reports. Plain JSON; problems come back as ProblemDetails with a message that says what to fix.
/// </summary>
internal static class ControlEndpoints
{
    private const int MaxGenerated = 10_000_000;

    public static void Map(RouteGroupBuilder control)
    {
        control.MapGet("/", Index);
        control.MapGet("/world", (SandboxRuntime runtime) => Json(JsonSerializer.SerializeToNode(runtime.World, SandboxJson.Options)!));
        control.MapPut("/world", ReplaceWorldAsync);
        control.MapPost("/users", AddUserAsync);
        control.MapPost("/generate", GenerateAsync);
        control.MapGet("/users/{user}", GroundTruth);
        control.MapPost("/users/{user}/login", LoginAsync);
        control.MapPost("/users/{user}/authorize", AuthorizeAsync);
        control.MapPost("/users/{user}/follow", (HttpContext http, string user, SandboxRuntime runtime, SandboxEvents events, CancellationToken ct) => FollowAsync(http, user, runtime, events, true, ct));
        control.MapPost("/users/{user}/unfollow", (HttpContext http, string user, SandboxRuntime runtime, SandboxEvents events, CancellationToken ct) => FollowAsync(http, user, runtime, events, false, ct));
        control.MapPost("/users/{user}/scan", ScanAsync);
        control.MapPost("/users/{user}/contact-way", ContactWayAsync);
        control.MapPost("/apps/{appid}/migrate", MigrateAccountAsync);
        control.MapPost("/corps/{corpid}/providers/{provider}/agree-migration", AgreeMigration);
        control.MapPost("/users/{user}/pay", PayAsync);
        control.MapPost("/users/{user}/phone", PhoneAsync);
        control.MapPost("/users/{user}/userinfo", UserInfoAsync);
        control.MapPost("/users/{user}/wecom-add", (HttpContext http, string user, SandboxRuntime runtime, SandboxEvents events, CancellationToken ct) => WeComContactAsync(http, user, runtime, events, true, ct));
        control.MapPost("/users/{user}/wecom-del", (HttpContext http, string user, SandboxRuntime runtime, SandboxEvents events, CancellationToken ct) => WeComContactAsync(http, user, runtime, events, false, ct));
        control.MapGet("/clock", (SandboxRuntime runtime) => Json(ClockObject(runtime.Clock)));
        control.MapPost("/clock", AdvanceClockAsync);
        control.MapGet("/faults", (SandboxRuntime runtime) => Json(JsonSerializer.SerializeToNode(runtime.Faults.Active(), SandboxJson.Options)!));
        control.MapPost("/faults", AddFaultAsync);
        control.MapDelete("/faults", (SandboxRuntime runtime) =>
        {
            runtime.Faults.Clear();
            return Results.NoContent();
        });
        control.MapGet("/calls", Calls);
        control.MapDelete("/calls", (SandboxRuntime runtime) =>
        {
            runtime.Calls.Clear();
            return Results.NoContent();
        });
        control.MapGet("/pushes", (PushDispatcher dispatcher) => Json(JsonSerializer.SerializeToNode(dispatcher.Records, SandboxJson.Options)!));
        control.MapPost("/components/{componentAppid}/ticket", ComponentTicket);
        control.MapPost("/suites/{suiteId}/ticket", (string suiteId, SandboxRuntime runtime, SandboxEvents events) =>
            runtime.State.SuiteApps(suiteId).Any()
                ? Json(new JsonObject { ["suite_ticket"] = events.PushSuiteTicket(suiteId) })
                : Problem(404, $"no provider app with suite_id '{suiteId}'; GET /_sandbox/world lists them"));
        control.MapPost("/components/{componentAppid}/authorize", (HttpContext http, string componentAppid, SandboxRuntime runtime, SandboxEvents events, CancellationToken ct) => ComponentAuthorizeAsync(http, componentAppid, runtime, events, true, ct));
        control.MapPost("/components/{componentAppid}/unauthorize", (HttpContext http, string componentAppid, SandboxRuntime runtime, SandboxEvents events, CancellationToken ct) => ComponentAuthorizeAsync(http, componentAppid, runtime, events, false, ct));
    }

    private static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(SandboxJson.Options), "application/json", Encoding.UTF8);

    private static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

    private static async Task<JsonObject> BodyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new ControlException(400, "the body must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ControlException(400, "the body is not valid JSON: " + ex.Message);
        }
    }

    private static string? Str(JsonObject body, string name) => body[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static string Required(JsonObject body, string name) => Str(body, name) ?? throw new ControlException(400, $"'{name}' is required");

    private static SandboxUser UserOrThrow(SandboxWorldState state, string name) =>
        state.Users.Find(name) ?? throw new ControlException(404, $"no user '{name}'; create it with POST /_sandbox/users {{\"name\":\"{name}\"}}");

    private static SandboxApp AppOrThrow(SandboxWorldState state, string appid, params string[] types)
    {
        if (!state.Apps.TryGetValue(appid, out var app))
        {
            throw new ControlException(404, $"no app '{appid}' in the world");
        }
        return types.Length == 0 || types.Contains(app.Type)
            ? app
            : throw new ControlException(400, $"app {appid} is a {app.Type}; this action needs {string.Join(" or ", types)}");
    }

    /// <summary>Runs a control action, turning <see cref="ControlException"/> and world errors into ProblemDetails.</summary>
    private static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (ControlException ex)
        {
            return Problem(ex.Status, ex.Message);
        }
        catch (SandboxWorldException ex)
        {
            return Problem(400, ex.Message);
        }
    }

    private static Task<IResult> ReplaceWorldAsync(HttpContext http, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var world = WorldLoader.Parse(await reader.ReadToEndAsync(ct).ConfigureAwait(false));
        runtime.ReplaceWorld(world);
        return Json(JsonSerializer.SerializeToNode(runtime.World, SandboxJson.Options)!);
    });

    private static Task<IResult> AddUserAsync(HttpContext http, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var name = Required(body, "name");
        if (!SandboxUserNames.IsValid(name))
        {
            throw new ControlException(400, "'name' must be 1-64 characters of [A-Za-z0-9._-]");
        }
        if (!runtime.State.Users.TryAdd(name, Str(body, "nickname"), Str(body, "phone"), out _))
        {
            throw new ControlException(409, $"user '{name}' already exists");
        }
        return Results.Json(new { user = name }, SandboxJson.Options, statusCode: 201);
    });

    private static Task<IResult> GenerateAsync(HttpContext http, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var count = body["users"] is JsonValue u && u.TryGetValue<int>(out var n) ? n : throw new ControlException(400, "'users' (a count) is required");
        if (count is < 1 or > MaxGenerated)
        {
            throw new ControlException(400, $"'users' must be between 1 and {MaxGenerated}");
        }
        var seed = body["seed"] is JsonValue s && s.TryGetValue<long>(out var sv) ? sv : 1;
        var follow = new Dictionary<string, double>(StringComparer.Ordinal);
        if (body["follow"] is JsonObject odds)
        {
            foreach (var (appid, value) in odds)
            {
                AppOrThrow(runtime.State, appid, AppTypes.OfficialAccount);
                var p = value is JsonValue pv && pv.TryGetValue<double>(out var d) ? d : -1;
                follow[appid] = p is >= 0 and <= 1 ? p : throw new ControlException(400, $"follow odds for {appid} must be between 0 and 1");
            }
        }
        var contacts = new List<(SandboxCorp Corp, double Odds)>();
        if (body["contacts"] is JsonObject corps)
        {
            foreach (var (corpid, contactValue) in corps)
            {
                if (!runtime.State.Corps.TryGetValue(corpid, out var corp) || corp.Members.Count == 0)
                {
                    throw new ControlException(400, $"contacts: no corp '{corpid}' with members in the world");
                }
                var c = contactValue is JsonValue cv && cv.TryGetValue<double>(out var cd) ? cd : -1;
                contacts.Add((corp, c is >= 0 and <= 1 ? c : throw new ControlException(400, $"contact odds for {corpid} must be between 0 and 1")));
            }
        }
        var batch = runtime.State.Users.Generate(count, seed, follow);
        var customers = 0;
        foreach (var (corp, contactOdds) in contacts)
        {
            customers += AddGeneratedCustomers(runtime.State, batch, corp, contactOdds);
        }
        return Json(new JsonObject
        {
            ["users"] = count,
            ["prefix"] = batch.Prefix,
            ["first"] = batch.Prefix + "0",
            ["last"] = batch.Prefix + (count - 1).ToString(CultureInfo.InvariantCulture),
            ["total"] = runtime.State.Users.Count,
            ["customers"] = customers,
        });
    });

    /// <summary>
    /// Generated customers: each user of the batch becomes, with the given odds, a customer of one member (spread
    /// evenly), added at the batch's creation time with add_way 1. No pushes: this is the history before the test.
    /// </summary>
    private static int AddGeneratedCustomers(SandboxWorldState state, GeneratedBatch batch, SandboxCorp corp, double odds)
    {
        var key = corp.Corpid.ToUpperInvariant();
        var seed = batch.Seed.ToString(CultureInfo.InvariantCulture);
        var added = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var index = i.ToString(CultureInfo.InvariantCulture);
            if (IdDeriver.Fraction("contact", seed, key, index) >= odds)
            {
                continue;
            }
            var member = corp.Members[(int)(IdDeriver.Fraction("contact-member", seed, key, index) * corp.Members.Count)];
            var user = state.Users.Find(batch.Prefix + index)!;
            lock (user.Gate)
            {
                if (!user.Contacts.TryGetValue(key, out var byMember))
                {
                    byMember = new Dictionary<string, ContactState>(StringComparer.Ordinal);
                    user.Contacts[key] = byMember;
                }
                byMember[member] = new ContactState(corp.Corpid, member, batch.CreatedAt, null);
            }
            state.CustomersOf(corp, member).Add(user.Name);
            added++;
        }
        return added;
    }

    /// <summary>Everything the user is, as WeChat knows it: the answer key for tests.</summary>
    private static IResult GroundTruth(string user, SandboxRuntime runtime)
    {
        var state = runtime.State;
        if (state.Users.Find(user) is not { } u)
        {
            return Problem(404, $"no user '{user}'");
        }
        var openids = new JsonObject();
        foreach (var app in state.World.Apps)
        {
            openids[app.Appid] = state.OpenIdOf(app.Appid, user);
        }
        var unionids = new JsonObject();
        foreach (var space in state.World.UnionSpaces)
        {
            unionids[space.Id] = state.UnionIdInSpace(space.Id, user);
        }
        var external = new JsonObject();
        var legacy = new JsonObject();
        var upgraded = new JsonObject();
        var pending = new JsonObject();
        foreach (var corp in state.World.Corps)
        {
            external[corp.Corpid] = state.PlainExternalUserId(corp, user);
            foreach (var app in corp.Apps.Where(a => a.Kind == CorpAppKinds.Provider).DistinctBy(a => a.Provider))
            {
                var reference = new CorpAppRef(corp, app);
                // What the provider sees now; before its id upgrade the old id, listed apart as well.
                external[corp.Corpid + "/" + app.Provider] = state.ExternalUserIdOf(reference, user);
                if (!state.ViewOf(reference).ExternalUpgraded)
                {
                    legacy[corp.Corpid + "/" + app.Provider] = state.LegacyProviderExternalUserId(corp, app.Provider!, user);
                    upgraded[corp.Corpid + "/" + app.Provider] = state.ProviderExternalUserId(corp, app.Provider!, user);
                }
                if (state.LivePendingId(reference, user) is { } pendingId)
                {
                    pending[corp.Corpid + "/" + app.Provider] = pendingId;
                }
            }
        }
        var follows = new JsonArray();
        foreach (var app in state.World.Apps.Where(a => a.Type == AppTypes.OfficialAccount))
        {
            if (state.Users.FollowOf(user, app.Appid) is { Subscribed: true })
            {
                follows.Add(app.Appid);
            }
        }
        var customerOf = new JsonArray();
        var contactDetails = new JsonArray();
        foreach (var corp in state.World.Corps)
        {
            foreach (var contact in WeComEndpoints.FollowsOf(u, corp))
            {
                customerOf.Add(corp.Corpid + "/" + contact.MemberUserId);
                var detail = new JsonObject { ["corpid"] = corp.Corpid, ["userid"] = contact.MemberUserId, ["createtime"] = contact.CreateTime, ["add_way"] = contact.AddWay };
                if (contact.State is not null)
                {
                    detail["state"] = contact.State;
                }
                contactDetails.Add(detail);
            }
        }
        var scenes = new JsonObject();
        foreach (var app in state.World.Apps.Where(a => a.Type == AppTypes.OfficialAccount))
        {
            if (state.Users.FollowOf(user, app.Appid) is { Subscribed: true } f && (f.QrSceneStr.Length > 0 || f.QrScene != 0))
            {
                scenes[app.Appid] = f.QrSceneStr.Length > 0 ? f.QrSceneStr : f.QrScene.ToString(CultureInfo.InvariantCulture);
            }
        }
        return Json(new JsonObject
        {
            ["user"] = user,
            ["nickname"] = u.Nickname,
            ["phone"] = u.Phone,
            ["openids"] = openids,
            ["unionids"] = unionids,
            ["external_userids"] = external,
            ["legacy_external_userids"] = legacy,
            ["upgraded_external_userids"] = upgraded,
            ["pending_ids"] = pending,
            ["follows"] = follows,
            ["follow_scenes"] = scenes,
            ["wecom_contacts"] = customerOf,
            ["wecom_contact_details"] = contactDetails,
        });
    }

    /// <summary>wx.login (MP, mini game: a 5-minute js_code) or website / mobile-app login (a 10-minute code, §3.6, §3.7).</summary>
    private static Task<IResult> LoginAsync(HttpContext http, string user, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        var app = AppOrThrow(state, Required(body, "appid"), AppTypes.MiniProgram, AppTypes.MiniGame, AppTypes.Website, AppTypes.MobileApp);
        var code = app.Type switch
        {
            AppTypes.Website => state.Codes.Issue(CodeKind.OAuth, app.Appid, TimeSpan.FromMinutes(10), u.Name, "snsapi_login"),
            AppTypes.MobileApp => state.Codes.Issue(CodeKind.OAuth, app.Appid, TimeSpan.FromMinutes(10), u.Name, "snsapi_userinfo"),
            _ => state.Codes.Issue(CodeKind.JsCode, app.Appid, TimeSpan.FromMinutes(5), u.Name),
        };
        return Json(new JsonObject { ["code"] = code.Code });
    });

    private static Task<IResult> AuthorizeAsync(HttpContext http, string user, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        var snapshot = body["snapshot"] is JsonValue sv && sv.TryGetValue<bool>(out var b) && b;
        var code = AuthorizePages.IssueCode(state, u, Required(body, "appid"), Str(body, "scope") ?? "snsapi_base", snapshot, Str(body, "component_appid"));
        return Json(new JsonObject { ["code"] = code });
    });

    private static async Task<IResult> FollowAsync(HttpContext http, string user, SandboxRuntime runtime, SandboxEvents events, bool subscribe, CancellationToken ct) => await Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        var app = AppOrThrow(state, Required(body, "appid"), AppTypes.OfficialAccount);
        var qrSceneStr = Str(body, "qr_scene_str");
        var qrScene = body["qr_scene"] is JsonValue qv && qv.TryGetValue<long>(out var qn) ? qn : 0;
        var scene = qrSceneStr ?? (qrScene != 0 ? qrScene.ToString(CultureInfo.InvariantCulture) : null);
        state.Users.SetFollow(u, app.Appid, subscribe, Str(body, "scene") ?? (scene is null ? "ADD_SCENE_SEARCH" : "ADD_SCENE_QR_CODE"), qrSceneStr ?? "", qrScene);
        var openid = state.OpenIdOf(app.Appid, u.Name);
        events.FollowChanged(app, openid, subscribe, subscribe ? scene : null);
        return Json(new JsonObject { ["openid"] = openid, ["subscribe"] = subscribe ? 1 : 0 });
    }).ConfigureAwait(false);

    /// <summary>
    /// The user scans a parametric QR code (a ticket from qrcode/create, or appid + scene_str / scene_id): a
    /// non-follower follows (subscribe, EventKey qrscene_…, user/info subscribe_scene ADD_SCENE_QR_CODE with
    /// qr_scene / qr_scene_str); a follower gets SCAN with EventKey = the scene. An expired temporary code: 410.
    /// </summary>
    private static Task<IResult> ScanAsync(HttpContext http, string user, SandboxRuntime runtime, SandboxEvents events, CancellationToken ct) => Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        QrCode code;
        if (Str(body, "ticket") is { } ticket)
        {
            code = state.QrCodes.TryGetValue(ticket, out var found) ? found : throw new ControlException(404, "no QR code with that ticket; make one with cgi-bin/qrcode/create");
            if (code.ExpiresAt is { } expires && expires <= state.Clock.GetUtcNow())
            {
                throw new ControlException(410, "that temporary QR code has expired");
            }
        }
        else
        {
            var app = AppOrThrow(state, Required(body, "appid"), AppTypes.OfficialAccount);
            var sceneStr = Str(body, "scene_str");
            var sceneId = body["scene_id"] is JsonValue sv && sv.TryGetValue<long>(out var sid) ? sid : 0;
            if (sceneStr is null && sceneId == 0)
            {
                throw new ControlException(400, "give 'ticket', or 'appid' with 'scene_str' or 'scene_id'");
            }
            var originalId = app.OriginalId ?? IdDeriver.OriginalId(app.Appid);
            code = new QrCode(PushMessages.QrTicketOf(originalId, sceneStr ?? sceneId.ToString(CultureInfo.InvariantCulture)), app.Appid, sceneId, sceneStr, true, null);
        }
        var oa = state.Apps[code.Appid];
        var openid = state.OpenIdOf(oa.Appid, u.Name);
        var following = state.Users.FollowOf(u.Name, oa.Appid) is { Subscribed: true };
        if (following)
        {
            events.Scanned(oa, openid, code.Scene, code.Ticket);
        }
        else
        {
            state.Users.SetFollow(u, oa.Appid, true, "ADD_SCENE_QR_CODE", code.SceneStr ?? "", code.SceneStr is null ? code.SceneId : 0);
            events.FollowChanged(oa, openid, true, code.Scene, code.Ticket);
        }
        return Json(new JsonObject { ["openid"] = openid, ["event"] = following ? "SCAN" : "subscribe", ["scene"] = code.Scene });
    });

    /// <summary>
    /// The user adds a member through a "contact me" way (config_id from add_contact_way): the way's member (round
    /// robin for several, or the given userid), its state in the add_external_contact push and in follow_user.state.
    /// </summary>
    private static Task<IResult> ContactWayAsync(HttpContext http, string user, SandboxRuntime runtime, SandboxEvents events, CancellationToken ct) => Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        var configId = Required(body, "config_id");
        var way = state.ContactWays.TryGetValue(configId, out var found) ? found : throw new ControlException(404, $"no contact way '{configId}' (deleted, or never made with add_contact_way)");
        var member = Str(body, "userid") ?? way.NextMember();
        if (!way.Members.Contains(member))
        {
            throw new ControlException(400, $"'{member}' is not a member of contact way {configId}");
        }
        var corp = state.Corps[way.Corpid];
        // add_way 1: scanned a QR code; a mini-program "contact me" button has no add_way of its own, we report 0.
        var changed = AddContact(state, events, u, corp, member, way.State, way.Scene == 2 ? 1 : 0);
        return Json(new JsonObject { ["userid"] = member, ["state"] = way.State, ["changed"] = changed });
    });

    /// <summary>
    /// OA account migration (帐号迁移): every follower of the old account now follows the new one
    /// (subscribe_scene ADD_SCENE_ACCOUNT_MIGRATION) and none follows the old one; changeopenid on the new account
    /// maps old openids to new ones for 15 days. No pushes, as in WeChat.
    /// </summary>
    private static Task<IResult> MigrateAccountAsync(HttpContext http, string appid, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var from = AppOrThrow(state, appid, AppTypes.OfficialAccount);
        var to = AppOrThrow(state, Required(body, "to_appid"), AppTypes.OfficialAccount);
        if (from == to)
        {
            throw new ControlException(400, "an account cannot migrate to itself");
        }
        var followers = state.Users.FollowerNames(from.Appid);
        foreach (var name in followers)
        {
            var u = state.Users.Find(name)!;
            state.Users.SetFollow(u, from.Appid, false, "ADD_SCENE_ACCOUNT_MIGRATION");
            state.Users.SetFollow(u, to.Appid, true, "ADD_SCENE_ACCOUNT_MIGRATION");
        }
        state.Migrations[(to.Appid, from.Appid)] = new AccountMigration(from.Appid, to.Appid, state.Clock.GetUtcNow(), new HashSet<string>(followers, StringComparer.Ordinal));
        return Json(new JsonObject { ["from_appid"] = from.Appid, ["to_appid"] = to.Appid, ["followers"] = followers.Count });
    });

    /// <summary>The corp admin agrees to a provider's id upgrade: agree_external_userid_migration to its suites.</summary>
    private static IResult AgreeMigration(string corpid, string provider, SandboxRuntime runtime, SandboxEvents events)
    {
        var state = runtime.State;
        if (!state.Corps.TryGetValue(corpid, out var corp) || corp.Apps.Find(a => a.Kind == CorpAppKinds.Provider && a.Provider == provider) is not { } app)
        {
            return Problem(404, $"corp '{corpid}' has no app of provider '{provider}'");
        }
        var reference = new CorpAppRef(corp, app);
        var view = state.ViewOf(reference);
        var first = !view.Agreed;
        view.Agreed = true;
        if (first)
        {
            events.MigrationAgreed(reference);
        }
        return Json(new JsonObject
        {
            ["corpid"] = corp.Corpid, ["provider"] = provider, ["agreed"] = true,
            ["external_upgraded"] = view.ExternalUpgraded, ["open_ids_upgraded"] = view.OpenIdsUpgraded,
        });
    }

    private static Task<IResult> PayAsync(HttpContext http, string user, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        var app = AppOrThrow(state, Required(body, "appid"), AppTypes.MiniProgram, AppTypes.MiniGame);
        var now = state.Clock.GetUtcNow();
        var payment = new Payment(app.Appid,
            "42000" + RandomDigits(23),
            Str(body, "mch_id") ?? "1900000109",
            now.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + RandomDigits(8),
            now);
        lock (u.Gate)
        {
            u.Payments.Add(payment);
        }
        return Json(new JsonObject { ["transaction_id"] = payment.TransactionId, ["mch_id"] = payment.MchId, ["out_trade_no"] = payment.OutTradeNo });
    });

    private static Task<IResult> PhoneAsync(HttpContext http, string user, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        var app = AppOrThrow(state, Required(body, "appid"), AppTypes.MiniProgram);
        var phone = Str(body, "phone") ?? u.Phone ?? "+86138" + RandomDigits(8);
        var code = state.Codes.Issue(CodeKind.Phone, app.Appid, TimeSpan.FromMinutes(5), u.Name, phone: phone);
        return Json(new JsonObject { ["code"] = code.Code });
    });

    /// <summary>
    /// wx.getUserInfo's payload (§4.5), made with the session_key of the user's latest code2Session for the app.
    /// Since 2021-04-13 the profile inside is anonymous ("微信用户", grey avatar) unless "profile":"real" is asked
    /// for; openId and unionId are real. Under the legacy rule, this decryption was a way to get the unionid.
    /// </summary>
    private static Task<IResult> UserInfoAsync(HttpContext http, string user, SandboxRuntime runtime, CancellationToken ct) => Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        var app = AppOrThrow(state, Required(body, "appid"), AppTypes.MiniProgram, AppTypes.MiniGame);
        byte[] key;
        lock (u.Gate)
        {
            key = u.SessionKeys.TryGetValue(app.Appid, out var current)
                ? current.Key
                : throw new ControlException(409, $"{user} has no session in {app.Appid}; log in first (POST /_sandbox/users/{user}/login, then /sns/jscode2session)");
            u.AuthorizedApps.Add(app.Appid);
        }
        var real = Str(body, "profile") == "real";
        var profile = new JsonObject
        {
            ["nickName"] = real ? u.Nickname : SnsEndpoints.PlaceholderNickname,
            ["gender"] = 0,
            ["language"] = "",
            ["city"] = "",
            ["province"] = "",
            ["country"] = "",
            ["avatarUrl"] = real ? SnsEndpoints.AvatarOf(u.Name) : SnsEndpoints.DefaultAvatar,
        };
        var rawData = profile.ToJsonString(SandboxJson.Options);
        var data = new JsonObject { ["openId"] = state.OpenIdOf(app.Appid, u.Name) };
        foreach (var (k, v) in profile)
        {
            data[k] = v?.DeepClone();
        }
        if (state.UnionIdOf(app, u.Name) is { } unionid)
        {
            data["unionId"] = unionid;
        }
        data["watermark"] = new JsonObject { ["timestamp"] = state.Clock.UnixSeconds(), ["appid"] = app.Appid };
        var sessionKey = Convert.ToBase64String(key);
        var iv = MiniProgramOpenData.NewIv();
        return Json(new JsonObject
        {
            ["encryptedData"] = MiniProgramOpenData.Encrypt(sessionKey, iv, data.ToJsonString(SandboxJson.Options)),
            ["iv"] = iv,
            ["rawData"] = rawData,
            ["signature"] = MiniProgramOpenData.ComputeSignature(rawData, sessionKey),
        });
    });

    /// <summary>
    /// A WeChat user adds a corp member (wecom-add, with the contact way's state if any), or one side ends the
    /// relation (wecom-del): "by":"customer" (the default) is the customer deleting the member — del_follow_user —,
    /// "by":"member" the member deleting the customer — del_external_contact. Every app of the corp gets
    /// change_external_contact.
    /// </summary>
    private static async Task<IResult> WeComContactAsync(HttpContext http, string user, SandboxRuntime runtime, SandboxEvents events, bool add, CancellationToken ct) => await Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var u = UserOrThrow(state, user);
        var corpid = Required(body, "corpid");
        if (!state.Corps.TryGetValue(corpid, out var corp))
        {
            throw new ControlException(404, $"no corp '{corpid}' in the world");
        }
        var member = Required(body, "userid");
        if (!corp.Members.Contains(member))
        {
            throw new ControlException(400, $"'{member}' is not a member of {corp.Corpid}; members: {string.Join(", ", corp.Members)}");
        }
        bool changed;
        if (add)
        {
            var addWay = body["add_way"] is JsonValue aw && aw.TryGetValue<int>(out var w) ? w : 1;
            changed = AddContact(state, events, u, corp, member, Str(body, "state"), addWay);
        }
        else
        {
            var by = Str(body, "by") ?? "customer";
            if (by is not ("customer" or "member"))
            {
                throw new ControlException(400, "'by' is 'customer' (the customer deletes the member) or 'member' (the member deletes the customer)");
            }
            changed = RemoveContact(state, u, corp, member);
            if (changed)
            {
                events.ContactChanged(corp, member, u.Name, by == "customer" ? "del_follow_user" : "del_external_contact", by == "member" ? Str(body, "source") : null, null);
            }
        }
        return Json(new JsonObject { ["external_userid"] = state.PlainExternalUserId(corp, u.Name), ["changed"] = changed });
    }).ConfigureAwait(false);

    private static bool AddContact(SandboxWorldState state, SandboxEvents events, SandboxUser u, SandboxCorp corp, string member, string? contactState, int addWay)
    {
        var key = corp.Corpid.ToUpperInvariant();
        bool changed;
        lock (u.Gate)
        {
            if (!u.Contacts.TryGetValue(key, out var byMember))
            {
                byMember = new Dictionary<string, ContactState>(StringComparer.Ordinal);
                u.Contacts[key] = byMember;
            }
            changed = byMember.TryAdd(member, new ContactState(corp.Corpid, member, state.Clock.UnixSeconds(), contactState, addWay));
        }
        if (changed)
        {
            state.CustomersOf(corp, member).Add(u.Name);
            // WelcomeCode: usable for 20 s, once; the sandbox sends one but does not serve send_welcome_msg.
            events.ContactChanged(corp, member, u.Name, "add_external_contact", contactState,
                Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_'));
        }
        return changed;
    }

    private static bool RemoveContact(SandboxWorldState state, SandboxUser u, SandboxCorp corp, string member)
    {
        bool changed;
        lock (u.Gate)
        {
            changed = u.Contacts.TryGetValue(corp.Corpid.ToUpperInvariant(), out var byMember) && byMember.Remove(member);
        }
        if (changed)
        {
            state.CustomersOf(corp, member).Remove(u.Name);
        }
        return changed;
    }

    private static Task<IResult> AdvanceClockAsync(HttpContext http, SandboxRuntime runtime, ILogger<SandboxRuntime> logger, CancellationToken ct) => Guard(async () =>
    {
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var seconds = body["advance_seconds"] is JsonValue v && v.TryGetValue<double>(out var s) ? s : throw new ControlException(400, "'advance_seconds' is required");
        if (seconds < 0)
        {
            throw new ControlException(400, "'advance_seconds' must not be negative: the sandbox clock only moves forward");
        }
        var now = runtime.Clock.Advance(TimeSpan.FromSeconds(seconds));
        Log.ClockAdvanced(logger, seconds, now);
        return Json(ClockObject(runtime.Clock));
    });

    private static JsonObject ClockObject(SandboxClock clock)
    {
        var now = clock.GetUtcNow();
        return new JsonObject { ["now"] = now.ToString("O", CultureInfo.InvariantCulture), ["unix"] = now.ToUnixTimeSeconds(), ["offset_seconds"] = clock.Offset.TotalSeconds };
    }

    private static Task<IResult> AddFaultAsync(HttpContext http, SandboxRuntime runtime, ILogger<SandboxRuntime> logger, CancellationToken ct) => Guard(async () =>
    {
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        var path = Required(body, "path");
        if (!path.StartsWith('/'))
        {
            throw new ControlException(400, "'path' must start with '/', e.g. /cgi-bin/token or /qyapi/cgi-bin/gettoken");
        }
        int? Int(string name) => body[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
        var fault = new SandboxFault(path, Int("errcode"), Int("times"), Int("delay_ms"));
        if (fault.Errcode is null && fault.DelayMs is null)
        {
            throw new ControlException(400, "give 'errcode', 'delay_ms' or both");
        }
        if (fault.Times is <= 0)
        {
            throw new ControlException(400, "'times' must be positive (leave it out for 'until DELETE /_sandbox/faults')");
        }
        runtime.Faults.Add(fault);
        Log.FaultSet(logger, fault.Path, fault.Errcode, fault.Times, fault.DelayMs);
        return Json(JsonSerializer.SerializeToNode(fault, SandboxJson.Options)!);
    });

    /// <summary>GET /_sandbox: what is being played, for a person with curl.</summary>
    private static IResult Index(SandboxRuntime runtime)
    {
        var state = runtime.State;
        var apps = new JsonArray();
        foreach (var app in state.World.Apps)
        {
            apps.Add(new JsonObject { ["appid"] = app.Appid, ["type"] = app.Type, ["name"] = app.Name, ["union_space"] = app.UnionSpace, ["callback"] = app.Callback?.Url });
        }
        var corps = new JsonArray();
        foreach (var corp in state.World.Corps)
        {
            corps.Add(new JsonObject
            {
                ["corpid"] = corp.Corpid,
                ["members"] = new JsonArray([.. corp.Members.Select(m => (JsonNode)m)]),
                ["apps"] = new JsonArray([.. corp.Apps.Select(a => (JsonNode)new JsonObject { ["name"] = a.Name, ["kind"] = a.Kind, ["provider"] = a.Provider, ["suite_id"] = a.SuiteId })]),
                ["providers"] = ProvidersOf(state, corp),
            });
        }
        return Json(new JsonObject
        {
            ["sandbox"] = "OneId offline WeChat; docs/sandbox.md",
            ["clock"] = ClockObject(runtime.Clock),
            ["unionid_rule"] = state.World.UnionidRule,
            ["apps"] = apps,
            ["corps"] = corps,
            ["components"] = new JsonArray([.. state.World.Components.Select(c => (JsonNode)c.ComponentAppid)]),
            ["users"] = state.Users.Count,
            ["named_users"] = new JsonArray([.. state.Users.NamedUsers().Take(100).Select(n => (JsonNode)n)]),
        });
    }

    /// <summary>Per provider of the corp: its open corpid, members' open_userids and how far its id upgrade went.</summary>
    private static JsonObject ProvidersOf(SandboxWorldState state, SandboxCorp corp)
    {
        var providers = new JsonObject();
        foreach (var app in corp.Apps.Where(a => a.Kind == CorpAppKinds.Provider).DistinctBy(a => a.Provider))
        {
            var reference = new CorpAppRef(corp, app);
            var view = state.ViewOf(reference);
            var open = new JsonObject();
            foreach (var member in corp.Members)
            {
                open[member] = IdDeriver.OpenUserId(corp.Corpid, app.Provider!, member);
            }
            providers[app.Provider!] = new JsonObject
            {
                ["provider_corpid"] = state.ProviderCredentials(app.Provider!).Corpid,
                ["open_corpid"] = IdDeriver.OpenCorpId(corp.Corpid, app.Provider!),
                ["open_userids"] = open,
                ["agreed"] = view.Agreed,
                ["external_upgraded"] = view.ExternalUpgraded,
                ["open_ids_upgraded"] = view.OpenIdsUpgraded,
            };
        }
        return providers;
    }

    private static IResult Calls(SandboxRuntime runtime) => Json(new JsonObject
    {
        ["counts"] = JsonSerializer.SerializeToNode(runtime.Calls.Counts, SandboxJson.Options),
        ["latest"] = JsonSerializer.SerializeToNode(runtime.Calls.Latest, SandboxJson.Options),
    });

    private static IResult ComponentTicket(string componentAppid, SandboxRuntime runtime, SandboxEvents events) =>
        runtime.State.Components.TryGetValue(componentAppid, out var component)
            ? Json(new JsonObject { ["component_verify_ticket"] = events.PushTicket(component) })
            : Problem(404, $"no component '{componentAppid}' in the world");

    /// <summary>An admin (un)authorizes the platform for an app: authorized / unauthorized events (§7.4).</summary>
    private static async Task<IResult> ComponentAuthorizeAsync(HttpContext http, string componentAppid, SandboxRuntime runtime, SandboxEvents events, bool authorize, CancellationToken ct) => await Guard(async () =>
    {
        var state = runtime.State;
        var body = await BodyAsync(http, ct).ConfigureAwait(false);
        if (!state.Components.TryGetValue(componentAppid, out var component))
        {
            throw new ControlException(404, $"no component '{componentAppid}' in the world");
        }
        var app = AppOrThrow(state, Required(body, "authorizer_appid"));
        if (!authorize)
        {
            state.Authorizations[(component.ComponentAppid, app.Appid)] = false;
            events.PushInfo(component, "unauthorized", ("AuthorizerAppid", app.Appid));
            return Results.NoContent();
        }
        var code = ComponentEndpoints.Authorize(state, events, component, app);
        return Json(new JsonObject { ["authorization_code"] = code.Code, ["expires_in"] = (int)ComponentEndpoints.AuthorizationCodeLifetime.TotalSeconds });
    }).ConfigureAwait(false);

    private static string RandomDigits(int count) =>
        string.Concat(Enumerable.Range(0, count).Select(_ => (char)('0' + RandomNumberGenerator.GetInt32(10))));
}

/// <summary>A control-API request that cannot be done; becomes ProblemDetails with this status.</summary>
internal sealed class ControlException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
