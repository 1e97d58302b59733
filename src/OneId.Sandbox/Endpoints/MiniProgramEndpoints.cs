using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OneId.Sandbox.State;
using OneId.Sandbox.World;
using static OneId.Sandbox.Endpoints.ApiContext;

namespace OneId.Sandbox.Endpoints;

/// <summary>Mini Program login, unionid, paid unionid and phone (§4).</summary>
internal static class MiniProgramEndpoints
{
    /// <summary>getpaidunionid works for 5 minutes after the payment (§4.4).</summary>
    public static readonly TimeSpan PaidUnionIdWindow = TimeSpan.FromMinutes(5);

    /// <summary>
    /// session_key lifetime is not disclosed and wx.login rotates it "not on every call" (§4.1). We keep a key for a
    /// sandbox day and rotate on the first code2Session after that, so clients meet a rotation without flapping.
    /// </summary>
    public static readonly TimeSpan SessionKeyRotation = TimeSpan.FromDays(1);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/sns/jscode2session", JsCode2Session);
        api.MapGet("/sns/component/jscode2session", ComponentJsCode2Session);
        api.MapGet("/wxa/getpaidunionid", GetPaidUnionId);
        api.MapPost("/wxa/business/getuserphonenumber", GetUserPhoneNumberAsync);
    }

    private static IResult JsCode2Session(HttpContext http)
    {
        var state = StateOf(http);
        var app = AppWithSecret(state, Query(http, "appid"), Query(http, "secret"));
        return CodeToSession(http, state, app);
    }

    /// <summary>The platform variant (§4.2): 61003 when the MP has not authorized the platform.</summary>
    private static IResult ComponentJsCode2Session(HttpContext http)
    {
        var state = StateOf(http);
        var componentAppid = Query(http, "component_appid") ?? throw new WeChatApiException(41018);
        var (_, component) = ComponentToken(http, state);
        if (component.ComponentAppid != componentAppid)
        {
            throw new WeChatApiException(61011);
        }
        var app = App(state, Query(http, "appid"));
        if (!IsAuthorizer(state, component, app.Appid))
        {
            throw new WeChatApiException(61003);
        }
        return CodeToSession(http, state, app);
    }

    /// <summary>
    /// code2Session (§4.1): js_code once, 5 minutes; 100 calls per user per minute (45011); unionid per the world's
    /// unionid_rule. The answer's content type is text/plain as reported (unconfirmed) — clients must parse the body
    /// whatever the header says, and against the sandbox they have to.
    /// </summary>
    private static WeChatResult CodeToSession(HttpContext http, SandboxWorldState state, SandboxApp app)
    {
        if (app.Type is not (AppTypes.MiniProgram or AppTypes.MiniGame))
        {
            throw new WeChatApiException(40013);
        }
        var code = Query(http, "js_code") ?? throw new WeChatApiException(41008);
        if (Query(http, "grant_type") != "authorization_code")
        {
            throw new WeChatApiException(40002);
        }
        // The per-user limit is checked before the code is spent, so a client that backs off can still use it.
        if (state.Codes.Peek(code) is { Kind: CodeKind.JsCode, User: { } who } && who.Length > 0
            && !state.Quotas.TryHit("jscode2session:" + app.Appid + ":" + who, state.Limits.Jscode2SessionPerUserPerMinute, QuotaWindow.Minute))
        {
            throw new WeChatApiException(45011);
        }
        var grant = state.Codes.Redeem(code, CodeKind.JsCode, app.Appid);
        var user = UserOf(state, grant.User!);
        var now = state.Clock.GetUtcNow();
        byte[] sessionKey;
        lock (user.Gate)
        {
            if (!user.SessionKeys.TryGetValue(app.Appid, out var current) || now - current.IssuedAt >= SessionKeyRotation)
            {
                current = (SandboxUsers.NewSessionKey(), now);
                user.SessionKeys[app.Appid] = current;
            }
            sessionKey = current.Key;
        }
        var body = new JsonObject
        {
            ["session_key"] = Convert.ToBase64String(sessionKey),
            ["openid"] = state.OpenIdOf(app.Appid, user.Name),
        };
        if (app.UnionSpace is not null
            && (state.World.UnionidRule == UnionidRules.Current || HasLegacyUnionLink(state, user, app)))
        {
            body["unionid"] = state.UnionIdOf(app, user.Name);
        }
        return new WeChatResult(body, 0, "text/plain");
    }

    /// <summary>getpaidunionid (§4.4): by transaction_id or mch_id + out_trade_no, within 5 minutes of paying.</summary>
    private static IResult GetPaidUnionId(HttpContext http)
    {
        var state = StateOf(http);
        var (_, app) = AppToken(http, state);
        if (app.Type != AppTypes.MiniProgram)
        {
            // Not available for mini games (§4.4) nor for other app types.
            throw new WeChatApiException(48001);
        }
        var openid = Query(http, "openid") ?? throw new WeChatApiException(41009);
        var name = state.UserByOpenId(app.Appid, openid) ?? throw new WeChatApiException(40003);
        if (app.UnionSpace is null)
        {
            throw new WeChatApiException(89002);
        }
        var transactionId = Query(http, "transaction_id");
        var mchId = Query(http, "mch_id");
        var outTradeNo = Query(http, "out_trade_no");
        if (transactionId is null && (mchId is null || outTradeNo is null))
        {
            throw new WeChatApiException(89300);
        }
        var user = UserOf(state, name);
        var now = state.Clock.GetUtcNow();
        bool paid;
        lock (user.Gate)
        {
            paid = user.Payments.Exists(p => p.Appid == app.Appid
                && (transactionId is not null ? p.TransactionId == transactionId : p.MchId == mchId && p.OutTradeNo == outTradeNo)
                && now - p.PaidAt <= PaidUnionIdWindow);
        }
        return paid
            ? WeChatResult.Ok(new JsonObject { ["unionid"] = state.UnionIdOf(app, name) })
            : throw new WeChatApiException(89300);
    }

    /// <summary>getuserphonenumber (§4.6): the button's code, once, 5 minutes.</summary>
    private static async Task<IResult> GetUserPhoneNumberAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var state = StateOf(http);
        var (_, app) = AppToken(http, state);
        var body = await WeChatResult.ReadBodyAsync(http.Request, cancellationToken).ConfigureAwait(false);
        var grant = state.Codes.Redeem(Text(body, "code"), CodeKind.Phone, app.Appid, missingErrcode: 40029);
        var phone = grant.Phone ?? "";
        var (countryCode, pure) = SplitPhone(phone);
        return WeChatResult.Ok(new JsonObject
        {
            ["phone_info"] = new JsonObject
            {
                ["phoneNumber"] = countryCode == "86" ? pure : "+" + countryCode + pure,
                ["purePhoneNumber"] = pure,
                // Typed string in the doc, the number 86 in its sample (§4.6); we send the string.
                ["countryCode"] = countryCode,
                ["watermark"] = new JsonObject { ["timestamp"] = state.Clock.UnixSeconds(), ["appid"] = app.Appid },
            },
        });
    }

    /// <summary>"+8613800000000" → ("86", "13800000000"); numbers without + are Chinese.</summary>
    internal static (string CountryCode, string Pure) SplitPhone(string phone)
    {
        if (!phone.StartsWith('+'))
        {
            return ("86", phone);
        }
        var digits = phone[1..];
        // Country codes used in the sandbox: 86 (China), 852/853/886, 1, 44, 65, 81; otherwise the first two digits.
        foreach (var cc in new[] { "852", "853", "886", "86", "1", "44", "65", "81" })
        {
            if (digits.StartsWith(cc, StringComparison.Ordinal))
            {
                return (cc, digits[cc.Length..]);
            }
        }
        return (digits[..2], digits[2..]);
    }
}
