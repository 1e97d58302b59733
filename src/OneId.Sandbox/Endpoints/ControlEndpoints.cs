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
        var batch = runtime.State.Users.Generate(count, seed, follow);
        return Json(new JsonObject
        {
            ["users"] = count,
            ["prefix"] = batch.Prefix,
            ["first"] = batch.Prefix + "0",
            ["last"] = batch.Prefix + (count - 1).ToString(CultureInfo.InvariantCulture),
            ["total"] = runtime.State.Users.Count,
        });
    });

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
        var pending = new JsonObject();
        foreach (var corp in state.World.Corps)
        {
            external[corp.Corpid] = state.PlainExternalUserId(corp, user);
            foreach (var app in corp.Apps.Where(a => a.Kind == CorpAppKinds.Provider).DistinctBy(a => a.Provider))
            {
                var reference = new CorpAppRef(corp, app);
                external[corp.Corpid + "/" + app.Provider] = state.ProviderExternalUserId(corp, app.Provider!, user);
                if (state.PendingIds.ContainsKey((corp.Corpid.ToUpperInvariant(), reference.PendingKey, user)))
                {
                    pending[corp.Corpid + "/" + app.Provider] = IdDeriver.PendingId(corp.Corpid, reference.PendingKey, user);
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
        foreach (var corp in state.World.Corps)
        {
            foreach (var contact in WeComEndpoints.FollowsOf(u, corp))
            {
                customerOf.Add(corp.Corpid + "/" + contact.MemberUserId);
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
            ["pending_ids"] = pending,
            ["follows"] = follows,
            ["wecom_contacts"] = customerOf,
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
        var qrScene = Str(body, "qr_scene_str");
        state.Users.SetFollow(u, app.Appid, subscribe, Str(body, "scene") ?? (qrScene is null ? "ADD_SCENE_SEARCH" : "ADD_SCENE_QR_CODE"), qrScene ?? "");
        var openid = state.OpenIdOf(app.Appid, u.Name);
        events.FollowChanged(app, openid, subscribe, subscribe ? qrScene : null);
        return Json(new JsonObject { ["openid"] = openid, ["subscribe"] = subscribe ? 1 : 0 });
    }).ConfigureAwait(false);

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

    /// <summary>A WeChat user adds (or deletes) a corp member; every app of the corp gets change_external_contact (§7.5).</summary>
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
        var key = corp.Corpid.ToUpperInvariant();
        var contactState = Str(body, "state");
        bool changed;
        lock (u.Gate)
        {
            if (!u.Contacts.TryGetValue(key, out var byMember))
            {
                byMember = new Dictionary<string, ContactState>(StringComparer.Ordinal);
                u.Contacts[key] = byMember;
            }
            changed = add
                ? byMember.TryAdd(member, new ContactState(corp.Corpid, member, state.Clock.UnixSeconds(), contactState))
                : byMember.Remove(member);
        }
        var customers = state.CustomersByMember.GetOrAdd((key, member), _ => []);
        lock (customers)
        {
            if (add && changed)
            {
                customers.Add(u.Name);
            }
            else if (!add)
            {
                customers.Remove(u.Name);
            }
        }
        if (changed)
        {
            // WelcomeCode: usable for 20 s, once (§7.5); the sandbox sends one but does not serve send_welcome_msg.
            events.ContactChanged(corp, member, u.Name, add ? "add_external_contact" : "del_follow_user", contactState,
                add ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_') : null);
        }
        return Json(new JsonObject { ["external_userid"] = state.PlainExternalUserId(corp, u.Name), ["changed"] = changed });
    }).ConfigureAwait(false);

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
