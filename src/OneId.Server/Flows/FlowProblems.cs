using Microsoft.AspNetCore.Http.HttpResults;
using OneId.Server.Api;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;

namespace OneId.Server.Flows;

/// <summary>How WeChat's refusals reach the caller: the errcode and WeChat's own message (which holds no secrets), never a 500.</summary>
internal static class FlowProblems
{
    public static ProblemHttpResult FromWeChat(WeChatApiException e) =>
        e.IsInvalidCode
            ? Problems.BadRequest("WeChat refused the code", $"{e.Message} Codes are single-use and expire after 5 minutes; get a new one from the client.")
            : e.IsTransient
                ? Microsoft.AspNetCore.Http.TypedResults.Problem(e.Message + " Try again shortly.", statusCode: 503, title: "WeChat is unavailable")
                : Problems.BadGateway("WeChat refused the call", e.Message);

    public static ProblemHttpResult FromCrypto(WeChatCryptoException e) => e.Error switch
    {
        WeChatCryptoError.InvalidSignature => Problems.BadRequest("Signature mismatch",
            e.Message + " The session_key the data was made with is not the current one: call wx.login and the login endpoint again, then retry."),
        WeChatCryptoError.WatermarkMismatch => Problems.Forbidden("Data of another app", e.Message),
        _ => Problems.BadRequest("Undecryptable data", e.Message),
    };

    public static ProblemHttpResult UnknownApp(string appId) =>
        Problems.NotFound("Unknown app", $"No tenant configures app {Shorten(appId)}; add it to oneid.json under tenants[].apps.");

    public static ProblemHttpResult WrongAppType(string appId, string type, string expected) =>
        Problems.BadRequest("Wrong kind of app", $"{appId} is configured as {type}; this endpoint serves {expected}.");

    public static ProblemHttpResult NoSession() =>
        Problems.Unauthorized("Login token required", "Send the token from the login endpoint as 'Authorization: Bearer <token>'. It may have expired or been revoked: log in again.");

    public static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
