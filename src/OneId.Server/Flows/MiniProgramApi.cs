using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Graph;
using OneId.Server.Api;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.Server.Flows;

public sealed record CodeRequest(string? Code);

public sealed record LoginResponse(string Token, string? PersonId, string Openid, string? Unionid, bool NewPerson, DateTimeOffset ExpiresAt);

public sealed record UserInfoRequest(
    [property: JsonPropertyName("encryptedData")] string? EncryptedData,
    [property: JsonPropertyName("iv")] string? Iv,
    [property: JsonPropertyName("rawData")] string? RawData,
    [property: JsonPropertyName("signature")] string? Signature);

public sealed record LinkResponse(string? PersonId, string Openid, string? Unionid, bool NewPerson);

public sealed record PaidRequest(string? Openid, string? TransactionId);

public sealed record SessionView(string PersonId, string Appid, string Openid, DateTimeOffset ExpiresAt);

/// <summary>
/// Mini Program flows: S4 login (code2Session → the hub's login token), S5 open data, phone numbers, S6 paid unionid;
/// plus the login token's own endpoints. Authorizer MPs of a third-party platform log in through component
/// jscode2session (S7).
/// </summary>
public static class MiniProgramApi
{
    public static IEndpointRouteBuilder MapMiniProgramApi(this IEndpointRouteBuilder app)
    {
        var mp = app.MapGroup("/v1/mp/{appid}").WithTags("Mini Program");
        mp.MapPost("/login", LoginAsync);
        mp.MapPost("/userinfo", UserInfoAsync);
        mp.MapPost("/phone", PhoneAsync);
        mp.MapPost("/paid", PaidAsync).RequireApiKey();
        var sessions = app.MapGroup("/v1/sessions").WithTags("Login sessions");
        sessions.MapGet("/current", CurrentAsync);
        sessions.MapDelete("/current", RevokeAsync);
        return app;
    }

    private static (HubTenant Tenant, AppOptions App)? MiniProgram(TenantRegistry tenants, string appId, out ProblemHttpResult? problem)
    {
        problem = null;
        if (tenants.FindApp(appId) is not { } found)
        {
            problem = FlowProblems.UnknownApp(appId);
            return null;
        }
        if (found.App.Type is not (AppTypes.MiniProgram or AppTypes.MiniGame))
        {
            problem = FlowProblems.WrongAppType(appId, found.App.Type, "mini programs and mini games");
            return null;
        }
        return found;
    }

    internal static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> LoginAsync(
        string appid, CodeRequest? request, TenantRegistry tenants, MiniProgramClient mini, ComponentClient component,
        IdentityRecorder recorder, LoginSessions sessions, CancellationToken ct)
    {
        if (MiniProgram(tenants, appid, out var problem) is not { } found)
        {
            return problem!;
        }
        if (string.IsNullOrWhiteSpace(request?.Code))
        {
            return Problems.BadRequest("Missing code", "Send {\"code\": \"<the code from wx.login()>\"}.");
        }
        if (WeChatInput.Code("code", request.Code, "send the code wx.login() gave, unchanged.") is { } malformed)
        {
            return malformed;
        }
        var (tenant, app) = found;
        MiniProgramSession session;
        try
        {
            // An MP run by a third-party platform has no secret here: the platform logs in for it (§4.2).
            session = string.IsNullOrEmpty(app.Secret) && app.ComponentAppId is { Length: > 0 } comp
                ? await component.Code2SessionAsync(AppId.Parse(comp), AppId.Parse(appid), request.Code, ct).ConfigureAwait(false)
                : await mini.Code2SessionAsync(AppId.Parse(appid), request.Code, ct).ConfigureAwait(false);
        }
        catch (WeChatApiException e)
        {
            return FlowProblems.FromWeChat(e);
        }
        var openId = session.OpenId.Value;
        var unionId = session.UnionId?.Value;
        var result = await recorder.RecordAsync(tenant, $"mp.login:{appid}",
            [IdentityRecorder.OpenIdOf(appid, openId), IdentityRecorder.UnionIdOf(app, unionId)], null, ct).ConfigureAwait(false);
        if (unionId is not null && LearnedUnionId(result))
        {
            await recorder.ConvertForProvidersAsync(tenant, app, openId, unionId, ct).ConfigureAwait(false);
        }
        var (token, expires) = await sessions.CreateAsync(tenant, appid, openId, result.Person, session.SessionKey, ct).ConfigureAwait(false);
        return TypedResults.Ok(new LoginResponse(token, result.Person?.ToString(), openId, unionId, result.NewPerson, expires));
    }

    /// <summary>True when this observation created the person or linked a new identifier: only then is a WeCom conversion worth its quota.</summary>
    internal static bool LearnedUnionId(ObserveResult result) =>
        result.Events.Any(e => e.Kind is GraphEventKind.Created or GraphEventKind.Linked or GraphEventKind.Merged);

    internal static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> UserInfoAsync(
        string appid, UserInfoRequest? request, HttpContext http, TenantRegistry tenants, LoginSessions sessions, IdentityRecorder recorder, CancellationToken ct)
    {
        if (MiniProgram(tenants, appid, out var problem) is not { } found)
        {
            return problem!;
        }
        if (await sessions.FromRequestAsync(http, ct).ConfigureAwait(false) is not { } session || session.AppId != appid)
        {
            return FlowProblems.NoSession();
        }
        if (request is null || string.IsNullOrEmpty(request.EncryptedData) || string.IsNullOrEmpty(request.Iv)
            || string.IsNullOrEmpty(request.RawData) || string.IsNullOrEmpty(request.Signature))
        {
            return Problems.BadRequest("Missing open data", "Send encryptedData, iv, rawData and signature exactly as wx.getUserInfo returned them.");
        }
        if (WeChatInput.OpenData(request.EncryptedData, request.Iv, request.RawData, request.Signature) is { } malformed)
        {
            return malformed;
        }
        if (sessions.SessionKeyOf(session) is not { } sessionKey)
        {
            return Problems.Conflict("No session_key", "This login has no usable session_key (hub data key changed?); log in again.");
        }
        JsonElement data;
        try
        {
            // Signature first: sha1(rawData + session_key) proves the data was made with this user's current session_key (§4.5).
            MiniProgramOpenData.VerifySignature(request.RawData, sessionKey, request.Signature);
            var payload = MiniProgramOpenData.Decrypt(sessionKey, request.Iv, request.EncryptedData, appid);
            data = JsonDocument.Parse(payload.Json).RootElement.Clone();
        }
        catch (WeChatCryptoException e)
        {
            return FlowProblems.FromCrypto(e);
        }
        catch (JsonException)
        {
            return Problems.BadRequest("Undecryptable data", "The decrypted open data is not JSON.");
        }
        var (tenant, app) = found;
        var openId = Text(data, "openId") ?? session.OpenId;
        if (openId != session.OpenId)
        {
            return Problems.Forbidden("Data of another user", "The open data belongs to another openid than this login.");
        }
        var unionId = Text(data, "unionId");
        // Placeholders ("微信用户", the grey avatar, gender 0) are dropped by the graph's profile policy (§4.5).
        var profile = new[] { ("nickname", Text(data, "nickName")), ("avatar", Text(data, "avatarUrl")), ("gender", Text(data, "gender")),
                              ("country", Text(data, "country")), ("province", Text(data, "province")), ("city", Text(data, "city")), ("language", Text(data, "language")) }
            .Where(p => p.Item2 is not null).Select(p => ProfilePolicy.Attribute(p.Item1, p.Item2!));
        var result = await recorder.RecordAsync(tenant, $"mp.userinfo:{appid}",
            [IdentityRecorder.OpenIdOf(appid, openId), IdentityRecorder.UnionIdOf(app, unionId)], profile, ct).ConfigureAwait(false);
        if (unionId is not null && LearnedUnionId(result))
        {
            await recorder.ConvertForProvidersAsync(tenant, app, openId, unionId, ct).ConfigureAwait(false);
        }
        return TypedResults.Ok(new LinkResponse(result.Person?.ToString(), openId, unionId, result.NewPerson));
    }

    internal static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> PhoneAsync(
        string appid, CodeRequest? request, HttpContext http, TenantRegistry tenants, LoginSessions sessions, MiniProgramClient mini,
        IdentityRecorder recorder, CancellationToken ct)
    {
        if (MiniProgram(tenants, appid, out var problem) is not { } found)
        {
            return problem!;
        }
        if (await sessions.FromRequestAsync(http, ct).ConfigureAwait(false) is not { } session || session.AppId != appid)
        {
            return FlowProblems.NoSession();
        }
        if (string.IsNullOrWhiteSpace(request?.Code))
        {
            return Problems.BadRequest("Missing code", "Send {\"code\": \"<the code from the getPhoneNumber button>\"}.");
        }
        if (WeChatInput.Code("code", request.Code, "send the code the getPhoneNumber button gave, unchanged.") is { } malformed)
        {
            return malformed;
        }
        PhoneNumberResponse phone;
        try
        {
            phone = await mini.GetPhoneNumberAsync(HubWeChat.TokenFor(found.App), request.Code, OpenId.Parse(session.OpenId), ct).ConfigureAwait(false);
        }
        catch (WeChatApiException e)
        {
            return FlowProblems.FromWeChat(e);
        }
        if (phone.PhoneInfo.Watermark is { } w && w.AppId != appid)
        {
            return Problems.Forbidden("Data of another app", "The phone number's watermark names another app.");
        }
        var number = "+" + (string.IsNullOrEmpty(phone.PhoneInfo.CountryCode) ? "86" : phone.PhoneInfo.CountryCode) + phone.PhoneInfo.PurePhoneNumber;
        if (!Identifier.TryCreate(IdentifierType.Phone, "", number, out var phoneId, out var error))
        {
            return Problems.BadGateway("Unexpected phone number", error);
        }
        // A phone is weak: it attaches to this person and never merges persons (family members share numbers).
        var result = await recorder.RecordAsync(found.Tenant, $"mp.phone:{appid}", [IdentityRecorder.OpenIdOf(appid, session.OpenId), phoneId], null, ct).ConfigureAwait(false);
        return TypedResults.Ok(new LinkResponse(result.Person?.ToString(), session.OpenId, null, result.NewPerson));
    }

    internal static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> PaidAsync(
        string appid, PaidRequest? request, HttpContext http, TenantRegistry tenants, MiniProgramClient mini, IdentityRecorder recorder, CancellationToken ct)
    {
        if (MiniProgram(tenants, appid, out var problem) is not { } found)
        {
            return problem!;
        }
        if (found.Tenant.Name != http.Caller().Tenant || !http.Caller().IsAdmin && !http.Caller().May(DataTier.Internal))
        {
            return Problems.Forbidden("Tenant not allowed", $"App {appid} belongs to another tenant than this key, or the key lacks the internal tier.");
        }
        if (!OpenId.TryParse(request?.Openid, out var openId) || string.IsNullOrWhiteSpace(request?.TransactionId))
        {
            return Problems.BadRequest("Missing openid or transaction_id", "Send {\"openid\": \"…\", \"transaction_id\": \"…\"} within 5 minutes of the payment.");
        }
        if (WeChatInput.TransactionId(request.TransactionId) is { } malformed)
        {
            return malformed;
        }
        PaidUnionIdResponse paid;
        try
        {
            paid = await mini.GetPaidUnionIdAsync(HubWeChat.TokenFor(found.App), openId, request.TransactionId, ct).ConfigureAwait(false);
        }
        catch (WeChatApiException e)
        {
            return FlowProblems.FromWeChat(e);
        }
        var result = await recorder.RecordAsync(found.Tenant, $"mp.paid:{appid}",
            [IdentityRecorder.OpenIdOf(appid, openId.Value), IdentityRecorder.UnionIdOf(found.App, paid.UnionId.Value)], null, ct).ConfigureAwait(false);
        if (LearnedUnionId(result))
        {
            await recorder.ConvertForProvidersAsync(found.Tenant, found.App, openId.Value, paid.UnionId.Value, ct).ConfigureAwait(false);
        }
        return TypedResults.Ok(new LinkResponse(result.Person?.ToString(), openId.Value, paid.UnionId.Value, result.NewPerson));
    }

    internal static async Task<Results<Ok<SessionView>, ProblemHttpResult>> CurrentAsync(HttpContext http, LoginSessions sessions, CancellationToken ct)
    {
        if (await sessions.FromRequestAsync(http, ct).ConfigureAwait(false) is not { } session)
        {
            return FlowProblems.NoSession();
        }
        // The person may have merged since the login: answer with the current id.
        var person = session.Stored.Person is { } p ? await session.Tenant.Graph.GetAsync(p, ct).ConfigureAwait(false) : null;
        person ??= await session.Tenant.Graph.FindAsync(IdentityRecorder.OpenIdOf(session.AppId, session.OpenId), ct).ConfigureAwait(false);
        return person is null
            ? Problems.NotFound("Unknown person", "The person of this login no longer exists (retracted).")
            : TypedResults.Ok(new SessionView(person.Id.ToString(), session.AppId, session.OpenId, session.Stored.ExpiresAt));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(HttpContext http, LoginSessions sessions, CancellationToken ct)
    {
        if (await sessions.FromRequestAsync(http, ct).ConfigureAwait(false) is not { } session)
        {
            return FlowProblems.NoSession();
        }
        await sessions.RevokeAsync(session, ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetRawText(),
            _ => null,
        } : null;
}
