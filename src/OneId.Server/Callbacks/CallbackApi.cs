using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using OneId.Server.Api;
using OneId.Server.Application;
using OneId.Server.Configuration;
using OneId.Server.Flows;
using OneId.Server.Tenants;
using Microsoft.Extensions.Logging;
using OneId.WeChat.Crypto;

namespace OneId.Server.Callbacks;

/// <summary>
/// Pushes from WeChat: OA events (S1), WeCom customer-contact events (S9, S10), third-party platform INFO events (S7)
/// and the user pushes of the OAs and MPs a platform runs (its message URL, S7).
/// The signature is checked before anything else; XML is parsed with DTDs off and a size limit; the verified message
/// goes to <see cref="PushFlows"/>; WeChat is answered exactly (the echostr, or <c>success</c>) so that it stops retrying.
/// </summary>
public static class CallbackApi
{
    private const int MaxBody = WeChatXml.DefaultMaxBytes;

    public static IEndpointRouteBuilder MapCallbackApi(this IEndpointRouteBuilder app)
    {
        var callbacks = app.MapGroup("/v1/callbacks").WithTags("WeChat callbacks").ExcludeFromDescription().AddEndpointFilter<FlowErrorFilter>();
        callbacks.MapGet("/oa/{appid}", VerifyOfficialAccount);
        callbacks.MapPost("/oa/{appid}", OfficialAccountEventAsync);
        callbacks.MapGet("/wecom/{corpid}/{app}", VerifyWeCom);
        callbacks.MapPost("/wecom/{corpid}/{app}", WeComEventAsync);
        callbacks.MapGet("/component/{component_appid}", VerifyComponent);
        callbacks.MapPost("/component/{component_appid}", ComponentEventAsync);
        // The platform's message URL (消息与事件接收URL), registered as …/component/{component_appid}/$APPID$: WeChat
        // sends each authorizer app's user pushes there, with the authorizer's appid in place of $APPID$ (§7.6).
        callbacks.MapGet("/component/{component_appid}/{appid}", VerifyAuthorizerMessages);
        callbacks.MapPost("/component/{component_appid}/{appid}", AuthorizerEventAsync);
        return app;
    }

    /// <summary>WeChat reads the answer byte for byte: plain text, no quotes, no BOM, no newline (§7.1, §7.5).</summary>
    private static ContentHttpResult Exactly(string text) => TypedResults.Text(text, "text/plain");

    private static ContentHttpResult Success() => Exactly("success");

    private static ProblemHttpResult Refused(WeChatCryptoException e) => e.Error switch
    {
        WeChatCryptoError.BodyTooLarge => TypedResults.Problem(e.Message, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Callback too large"),
        WeChatCryptoError.InvalidSignature => Problems.Unauthorized("Signature mismatch", e.Message),
        _ => Problems.BadRequest("Callback refused", e.Message),
    };

    private static ProblemHttpResult MissingParameters() =>
        Problems.BadRequest("Missing signature parameters", "WeChat sends signature (or msg_signature), timestamp and nonce in the query string.");

    // ---------------- Official Account (S1) ----------------

    internal static Results<ContentHttpResult, ProblemHttpResult> VerifyOfficialAccount(
        string appid, string? signature, string? timestamp, string? nonce, string? echostr, TenantRegistry tenants)
    {
        if (tenants.FindApp(appid) is not { App.Token: { Length: > 0 } token })
        {
            return FlowProblems.UnknownApp(appid);
        }
        if (timestamp is null || nonce is null || echostr is null)
        {
            return MissingParameters();
        }
        try
        {
            // OA URL verification is plain in both modes: echostr comes back unchanged (§7.1).
            return Exactly(WeChatSignature.VerifyPlainEchoStr(token, signature, timestamp, nonce, echostr));
        }
        catch (WeChatCryptoException e)
        {
            return Refused(e);
        }
    }

    internal static async Task<Results<ContentHttpResult, ProblemHttpResult>> OfficialAccountEventAsync(
        string appid, string? signature, string? timestamp, string? nonce, string? encrypt_type, string? msg_signature,
        HttpContext http, TenantRegistry tenants, PushFlows pushes, PushGuard guard, CancellationToken ct)
    {
        if (tenants.FindApp(appid) is not { App.Token: { Length: > 0 } token } found)
        {
            return FlowProblems.UnknownApp(appid);
        }
        if (timestamp is null || nonce is null)
        {
            return MissingParameters();
        }
        WeChatXmlMessage message;
        string body;
        try
        {
            WeChatSignature.VerifyCallback(token, signature, timestamp, nonce);
            body = await WeChatXml.ReadBodyAsync(http.Request.Body, MaxBody, ct).ConfigureAwait(false);
            if (encrypt_type == "aes")
            {
                if (string.IsNullOrEmpty(found.App.AesKey))
                {
                    return Problems.BadRequest("Safe mode not configured", $"WeChat sent an encrypted push; set aes_key for {appid} to the console's EncodingAESKey.");
                }
                message = new WeChatMessageCrypto(token, found.App.AesKey, appid).DecryptCallback(msg_signature, timestamp, nonce, body, MaxBody).Message;
            }
            else if (MessageModes.Of(found.App) == MessageModes.Safe)
            {
                // The plain-mode signature covers token, timestamp and nonce but not the body (docs/wechat-api.md §7.1):
                // accepting a plaintext push here would let anyone holding one old push URL forge any event.
                return Problems.Unauthorized("Encrypted push required", $"{appid} is in safe mode (message_mode): only pushes with encrypt_type=aes and a valid msg_signature are processed.");
            }
            else
            {
                message = WeChatXml.Parse(body, MaxBody);
            }
        }
        catch (WeChatCryptoException e)
        {
            return Refused(e);
        }
        if (await guard.CheckAsync(found.Tenant, $"oa:{appid}", timestamp, nonce, body, ct).ConfigureAwait(false) is { } stale)
        {
            return stale;
        }

        if (PushFlows.ClassifyOfficialAccount(appid, message) is not { } push)
        {
            return Success(); // messages and other events carry nothing for the graph
        }
        await pushes.AcceptAsync(found.Tenant, push, ct).ConfigureAwait(false);
        return Success();
    }

    // ---------------- WeCom (S9 self-built, S10 provider) ----------------

    private static (HubTenant Tenant, CorpOptions Corp, CorpAppOptions App, WeChatMessageCrypto Crypto)? WeComApp(TenantRegistry tenants, string corpid, string app)
    {
        if (tenants.FindCorpApp(corpid, app) is not { } found || string.IsNullOrEmpty(found.App.Token) || string.IsNullOrEmpty(found.App.AesKey))
        {
            return null;
        }
        // Self-built apps' ciphertext ends with the corpid; a provider's with its suite_id (§7.2, §7.5).
        var receiveId = found.App.Kind == CorpAppKinds.Provider ? found.App.SuiteId! : corpid;
        return (found.Tenant, found.Corp, found.App, new WeChatMessageCrypto(found.App.Token, found.App.AesKey, receiveId));
    }

    private static ProblemHttpResult UnknownCorpApp(string corpid, string app) =>
        Problems.NotFound("Unknown WeCom app", $"No tenant configures app '{FlowProblems.Shorten(app)}' of corp {FlowProblems.Shorten(corpid)} with token and aes_key.");

    internal static Results<ContentHttpResult, ProblemHttpResult> VerifyWeCom(
        string corpid, string app, string? msg_signature, string? timestamp, string? nonce, string? echostr, TenantRegistry tenants)
    {
        if (WeComApp(tenants, corpid, app) is not { } found)
        {
            return UnknownCorpApp(corpid, app);
        }
        if (timestamp is null || nonce is null || echostr is null)
        {
            return MissingParameters();
        }
        try
        {
            // WeCom's echostr is encrypted: answer its decrypted plaintext, within 1 s (§7.5).
            return Exactly(found.Crypto.VerifyEchoStr(msg_signature, timestamp, nonce, echostr));
        }
        catch (WeChatCryptoException e)
        {
            return Refused(e);
        }
    }

    internal static async Task<Results<ContentHttpResult, ProblemHttpResult>> WeComEventAsync(
        string corpid, string app, string? msg_signature, string? timestamp, string? nonce,
        HttpContext http, TenantRegistry tenants, PushFlows pushes, PushGuard guard, CancellationToken ct)
    {
        if (WeComApp(tenants, corpid, app) is not { } found)
        {
            return UnknownCorpApp(corpid, app);
        }
        if (timestamp is null || nonce is null)
        {
            return MissingParameters();
        }
        WeChatXmlMessage message;
        string body;
        try
        {
            body = await WeChatXml.ReadBodyAsync(http.Request.Body, MaxBody, ct).ConfigureAwait(false);
            message = found.Crypto.DecryptCallback(msg_signature, timestamp, nonce, body, MaxBody).Message;
        }
        catch (WeChatCryptoException e)
        {
            return Refused(e);
        }
        if (await guard.CheckAsync(found.Tenant, $"wecom:{corpid}/{app}", timestamp, nonce, body, ct).ConfigureAwait(false) is { } stale)
        {
            return stale;
        }
        if (PushFlows.ClassifyWeCom(corpid, app, message) is not { } push)
        {
            return Success(); // transfers and member events change nothing: employees are not customers
        }
        await pushes.AcceptAsync(found.Tenant, push, ct).ConfigureAwait(false);
        return Success();
    }

    // ---------------- Third-party platform (S7) ----------------

    internal static Results<ContentHttpResult, ProblemHttpResult> VerifyComponent(string component_appid, string? signature, string? timestamp, string? nonce, string? echostr, TenantRegistry tenants)
    {
        if (tenants.FindComponent(component_appid) is not { } found)
        {
            return FlowProblems.UnknownApp(component_appid);
        }
        if (timestamp is null || nonce is null || echostr is null)
        {
            return MissingParameters();
        }
        try
        {
            return Exactly(WeChatSignature.VerifyPlainEchoStr(found.Component.Token!, signature, timestamp, nonce, echostr));
        }
        catch (WeChatCryptoException e)
        {
            return Refused(e);
        }
    }

    internal static async Task<Results<ContentHttpResult, ProblemHttpResult>> ComponentEventAsync(
        string component_appid, string? timestamp, string? nonce, string? msg_signature,
        HttpContext http, TenantRegistry tenants, PushFlows pushes, PushGuard guard, CancellationToken ct)
    {
        var (tenant, message, refusal) = await OpenPlatformPushAsync(component_appid, $"component:{component_appid}", timestamp, nonce, msg_signature,
            http, tenants, guard, ct).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }
        await pushes.AcceptAsync(tenant!, PushFlows.ClassifyComponent(component_appid, message!), ct).ConfigureAwait(false);
        return Success();
    }

    /// <summary>
    /// Verifies, decrypts and checks for replay a push sent to one of a platform's URLs (its authorization event URL or
    /// its message URL). Platform pushes are always encrypted, with the platform's token and EncodingAESKey and the
    /// component appid as receiveid (§5.1, §7.2, §7.6). Either the tenant and message, or the answer that refuses the push.
    /// </summary>
    private static async Task<(HubTenant? Tenant, WeChatXmlMessage? Message, ProblemHttpResult? Refusal)> OpenPlatformPushAsync(
        string componentAppId, string guardScope, string? timestamp, string? nonce, string? msgSignature,
        HttpContext http, TenantRegistry tenants, PushGuard guard, CancellationToken ct)
    {
        if (tenants.FindComponent(componentAppId) is not { } found)
        {
            return (null, null, FlowProblems.UnknownApp(componentAppId));
        }
        if (timestamp is null || nonce is null)
        {
            return (null, null, MissingParameters());
        }
        WeChatXmlMessage message;
        string body;
        try
        {
            body = await WeChatXml.ReadBodyAsync(http.Request.Body, MaxBody, ct).ConfigureAwait(false);
            message = new WeChatMessageCrypto(found.Component.Token!, found.Component.AesKey!, componentAppId)
                .DecryptCallback(msgSignature, timestamp, nonce, body, MaxBody).Message;
        }
        catch (WeChatCryptoException e)
        {
            return (null, null, Refused(e));
        }
        if (await guard.CheckAsync(found.Tenant, guardScope, timestamp, nonce, body, ct).ConfigureAwait(false) is { } stale)
        {
            return (null, null, stale);
        }
        return (found.Tenant, message, null);
    }

    // ---------------- Apps run by a third-party platform (S7): the platform's message URL ----------------

    internal static Results<ContentHttpResult, ProblemHttpResult> VerifyAuthorizerMessages(
        string component_appid, string appid, string? signature, string? timestamp, string? nonce, string? echostr, TenantRegistry tenants) =>
        // Signed with the platform's message token, like the platform's own URL.
        VerifyComponent(component_appid, signature, timestamp, nonce, echostr, tenants);

    /// <summary>
    /// A user push (follow, unfollow, …) of an OA or MP that authorized the platform. WeChat encrypts it with the
    /// platform's token and EncodingAESKey and the component appid as receiveid (§7.6); what it says is the same as an
    /// OA's own push, so it goes through the same flow, under the OA's appid.
    /// </summary>
    internal static async Task<Results<ContentHttpResult, ProblemHttpResult>> AuthorizerEventAsync(
        string component_appid, string appid, string? timestamp, string? nonce, string? msg_signature,
        HttpContext http, TenantRegistry tenants, PushFlows pushes, PushGuard guard, ILoggerFactory loggers, CancellationToken ct)
    {
        var (tenant, message, refusal) = await OpenPlatformPushAsync(component_appid, $"component:{component_appid}/{FlowProblems.Shorten(appid)}",
            timestamp, nonce, msg_signature, http, tenants, guard, ct).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }
        if (tenant!.FindApp(appid) is not { } app || app.ComponentAppId != component_appid)
        {
            // WeChat sends the pushes of every app that authorized the platform, also of apps this tenant does not
            // configure (another customer of the platform, WeChat's release-test account). The push is genuine — the
            // platform's signature holds — so it is acknowledged, or WeChat would retry it, and left alone.
            CallbackLog.AuthorizerNotConfigured(loggers.CreateLogger(typeof(CallbackApi)), tenant.Name, component_appid, FlowProblems.Shorten(appid));
            return Success();
        }
        if (PushFlows.ClassifyOfficialAccount(app.AppId, message!) is not { } push)
        {
            return Success(); // messages, MP events and other events carry nothing for the graph
        }
        await pushes.AcceptAsync(tenant, push, ct).ConfigureAwait(false);
        return Success();
    }
}

internal static partial class CallbackLog
{
    [LoggerMessage(EventId = 4010, Level = LogLevel.Information,
        Message = "{Tenant}: a push for {AppId} arrived at platform {ComponentAppId}'s message URL, but the tenant does not configure that app as run by this platform (component_appid); acknowledged and ignored")]
    public static partial void AuthorizerNotConfigured(ILogger logger, string tenant, string componentAppId, string appId);
}
