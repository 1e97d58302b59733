using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using OneId.Server.Api;
using OneId.Server.Application;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;
using OneId.WeChat.Tokens;

namespace OneId.Server.Flows;

/// <summary>How the flows' refusals and WeChat's reach the caller: the errcode and WeChat's own message (which holds no secrets), never a 500.</summary>
internal static class FlowProblems
{
    public static ProblemHttpResult FromWeChat(WeChatApiException e) =>
        e.IsInvalidCode
            ? Problems.BadRequest("WeChat refused the code", $"{e.Message} Codes are single-use and expire after 5 minutes; get a new one from the client.")
            : e.IsTransient
                ? TypedResults.Problem(e.Message + " Try again shortly.", statusCode: 503, title: "WeChat is unavailable")
                : Problems.BadGateway("WeChat refused the call", e.Message);

    public static ProblemHttpResult FromCrypto(WeChatCryptoException e) => e.Error switch
    {
        WeChatCryptoError.InvalidSignature => Problems.BadRequest("Signature mismatch",
            e.Message + " The session_key the data was made with is not the current one: call wx.login and the login endpoint again, then retry."),
        WeChatCryptoError.WatermarkMismatch => Problems.Forbidden("Data of another app", e.Message),
        _ => Problems.BadRequest("Undecryptable data", e.Message),
    };

    public static ProblemHttpResult FromRefusal(FlowRefusedException e) => e.Refusal switch
    {
        FlowRefusal.Forbidden => Problems.Forbidden(e.Message, e.Detail),
        FlowRefusal.NotFound => Problems.NotFound(e.Message, e.Detail),
        FlowRefusal.Conflict => Problems.Conflict(e.Message, e.Detail),
        FlowRefusal.BadUpstream => Problems.BadGateway(e.Message, e.Detail),
        _ => Problems.BadRequest(e.Message, e.Detail),
    };

    /// <summary>An app run by a third-party platform that has not authorized it: nothing works until its admin does (400, like the job route).</summary>
    public static ProblemHttpResult PlatformNotAuthorized(PlatformNotAuthorizedException e) =>
        Problems.BadRequest("Platform not authorized", e.Message);

    public static ProblemHttpResult UnknownApp(string appId) =>
        Problems.NotFound("Unknown app", $"No tenant configures app {Shorten(appId)}; add it to oneid.json under tenants[].apps.");

    public static ProblemHttpResult WrongAppType(string appId, string type, string expected) =>
        Problems.BadRequest("Wrong kind of app", $"{appId} is configured as {type}; this endpoint serves {expected}.");

    public static ProblemHttpResult NoSession() =>
        Problems.Unauthorized("Login token required", "Send the token from the login endpoint as 'Authorization: Bearer <token>'. It may have expired or been revoked: log in again.");

    public static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>The bearer token of the request, or null.</summary>
    public static string? BearerToken(this HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}

/// <summary>Turns what a flow throws (WeChat's refusals, bad open data, a flow's own refusal) into ProblemDetails, for every flow endpoint in one place.</summary>
internal sealed class FlowErrorFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (WeChatApiException e)
        {
            return FlowProblems.FromWeChat(e);
        }
        catch (WeChatCryptoException e)
        {
            return FlowProblems.FromCrypto(e);
        }
        catch (FlowRefusedException e)
        {
            return FlowProblems.FromRefusal(e);
        }
        catch (PlatformNotAuthorizedException e)
        {
            return FlowProblems.PlatformNotAuthorized(e);
        }
    }
}
