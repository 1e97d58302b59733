using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Graph;
using OneId.Server.Api;
using OneId.Server.Application;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;

namespace OneId.Server.Flows;

public sealed record CodeRequest(string? Code);

public sealed record LoginResponse(string Token, string? PersonId, string Openid, string? Unionid, bool NewPerson, DateTimeOffset ExpiresAt)
{
    internal static LoginResponse From(LoginOutcome o) => new(o.Token, o.Person?.ToString(), o.OpenId.Value, o.UnionId?.Value, o.NewPerson, o.ExpiresAt);
}

public sealed record UserInfoRequest(
    [property: JsonPropertyName("encryptedData")] string? EncryptedData,
    [property: JsonPropertyName("iv")] string? Iv,
    [property: JsonPropertyName("rawData")] string? RawData,
    [property: JsonPropertyName("signature")] string? Signature);

public sealed record LinkResponse(string? PersonId, string Openid, string? Unionid, bool NewPerson)
{
    internal static LinkResponse From(LinkOutcome o) => new(o.Person?.ToString(), o.OpenId.Value, o.UnionId?.Value, o.NewPerson);
}

public sealed record PaidRequest(string? Openid, string? TransactionId);

public sealed record SessionView(string PersonId, string Appid, string Openid, DateTimeOffset ExpiresAt);

/// <summary>
/// HTTP for the Mini Program flows (<see cref="MiniProgramFlows"/>): S4 login, S5 open data, phone numbers, S6 paid
/// unionid; plus the login token's own endpoints.
/// </summary>
public static class MiniProgramApi
{
    public static IEndpointRouteBuilder MapMiniProgramApi(this IEndpointRouteBuilder app)
    {
        var mp = app.MapGroup("/v1/mp/{appid}").WithTags("Mini Program").AddEndpointFilter<FlowErrorFilter>();
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
        string appid, CodeRequest? request, TenantRegistry tenants, MiniProgramFlows flows, CancellationToken ct)
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
        return TypedResults.Ok(LoginResponse.From(await flows.LoginAsync(found.Tenant, found.App, request.Code, ct).ConfigureAwait(false)));
    }

    internal static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> UserInfoAsync(
        string appid, UserInfoRequest? request, HttpContext http, TenantRegistry tenants, LoginSessions sessions, MiniProgramFlows flows, CancellationToken ct)
    {
        if (MiniProgram(tenants, appid, out var problem) is not { } found)
        {
            return problem!;
        }
        if (await sessions.FindAsync(http.BearerToken(), ct).ConfigureAwait(false) is not { } session || session.AppId != appid)
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
        var input = new MiniProgramOpenDataInput(request.EncryptedData, request.Iv, request.RawData, request.Signature);
        return TypedResults.Ok(LinkResponse.From(await flows.UserInfoAsync(session, found.App, input, ct).ConfigureAwait(false)));
    }

    internal static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> PhoneAsync(
        string appid, CodeRequest? request, HttpContext http, TenantRegistry tenants, LoginSessions sessions, MiniProgramFlows flows, CancellationToken ct)
    {
        if (MiniProgram(tenants, appid, out var problem) is not { } found)
        {
            return problem!;
        }
        if (await sessions.FindAsync(http.BearerToken(), ct).ConfigureAwait(false) is not { } session || session.AppId != appid)
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
        return TypedResults.Ok(LinkResponse.From(await flows.PhoneAsync(session, found.App, request.Code, ct).ConfigureAwait(false)));
    }

    internal static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> PaidAsync(
        string appid, PaidRequest? request, HttpContext http, TenantRegistry tenants, MiniProgramFlows flows, CancellationToken ct)
    {
        if (MiniProgram(tenants, appid, out var problem) is not { } found)
        {
            return problem!;
        }
        if (found.Tenant.Name != http.Caller().Tenant || !http.Caller().IsAdmin && !http.Caller().May(DataTier.Internal))
        {
            return Problems.Forbidden("Tenant not allowed", $"App {appid} belongs to another tenant than this key, or the key lacks the internal tier.");
        }
        if (!WeChatIdentifiers.TryOpenIdFromCaller(appid, request?.Openid, out var openId, out _) || string.IsNullOrWhiteSpace(request?.TransactionId))
        {
            return Problems.BadRequest("Missing openid or transaction_id", "Send {\"openid\": \"…\", \"transaction_id\": \"…\"} within 5 minutes of the payment.");
        }
        if (WeChatInput.TransactionId(request.TransactionId) is { } malformed)
        {
            return malformed;
        }
        return TypedResults.Ok(LinkResponse.From(await flows.PaidUnionIdAsync(found.Tenant, found.App, openId, request.TransactionId, ct).ConfigureAwait(false)));
    }

    internal static async Task<Results<Ok<SessionView>, ProblemHttpResult>> CurrentAsync(HttpContext http, LoginSessions sessions, MiniProgramFlows flows, CancellationToken ct)
    {
        if (await sessions.FindAsync(http.BearerToken(), ct).ConfigureAwait(false) is not { } session)
        {
            return FlowProblems.NoSession();
        }
        return await flows.PersonOfAsync(session, ct).ConfigureAwait(false) is not { } person
            ? Problems.NotFound("Unknown person", "The person of this login no longer exists (retracted).")
            : TypedResults.Ok(new SessionView(person.Id.ToString(), session.AppId, session.OpenId, session.Stored.ExpiresAt));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(HttpContext http, LoginSessions sessions, CancellationToken ct)
    {
        if (await sessions.FindAsync(http.BearerToken(), ct).ConfigureAwait(false) is not { } session)
        {
            return FlowProblems.NoSession();
        }
        await sessions.RevokeAsync(session, ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }
}
