using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Api;
using OneId.Server.Configuration;
using OneId.Server.Flows;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;

namespace OneId.Server.Callbacks;

/// <summary>
/// Pushes from WeChat: OA events (S1), WeCom customer-contact events (S9, S10) and third-party platform INFO events (S7).
/// The signature is checked before anything else; XML is parsed with DTDs off and a size limit; retries are
/// deduplicated; WeChat is answered exactly (the echostr, or <c>success</c>) so that it stops retrying.
/// </summary>
public static partial class CallbackApi
{
    private const int MaxBody = WeChatXml.DefaultMaxBytes;

    public static IEndpointRouteBuilder MapCallbackApi(this IEndpointRouteBuilder app)
    {
        var callbacks = app.MapGroup("/v1/callbacks").WithTags("WeChat callbacks").ExcludeFromDescription();
        callbacks.MapGet("/oa/{appid}", VerifyOfficialAccount);
        callbacks.MapPost("/oa/{appid}", OfficialAccountEventAsync);
        callbacks.MapGet("/wecom/{corpid}/{app}", VerifyWeCom);
        callbacks.MapPost("/wecom/{corpid}/{app}", WeComEventAsync);
        callbacks.MapGet("/component/{component_appid}", VerifyComponent);
        callbacks.MapPost("/component/{component_appid}", ComponentEventAsync);
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
        HttpContext http, TenantRegistry tenants, OfficialAccountClient oa, IdentityRecorder recorder, PushGuard guard, ILoggerFactory loggers, CancellationToken ct)
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
                // The plain-mode signature covers token, timestamp and nonce but not the body (§7.1): accepting a
                // plaintext push here would let anyone holding one old push URL forge any event.
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

        var (tenant, app) = found;
        var openId = message["FromUserName"];
        var evt = message["MsgType"] == "event" ? message["Event"] : null;
        if (evt is not ("subscribe" or "unsubscribe") || !OpenId.TryParse(openId, out var openIdValue))
        {
            return Success(); // messages and other events carry nothing for the graph
        }
        // WeChat retries a push 3 times when it gets no answer within 5 s; events carry no MsgId, so FromUserName + CreateTime
        // identify them (§7.2).
        var key = $"oa:{appid}:{message["MsgId"] ?? $"{openId}:{message["CreateTime"]}:{evt}"}";
        if (!await tenant.Store.FirstSeenAsync(key, ct).ConfigureAwait(false))
        {
            return Success();
        }
        try
        {
            if (evt == "unsubscribe")
            {
                await recorder.RecordAsync(tenant, $"oa.unsubscribe:{appid}", [IdentityRecorder.OpenIdOf(appid, openId!)], null, ct).ConfigureAwait(false);
                return Success();
            }
            // A follow event carries only the openid; user/info adds the unionid when the OA is bound (S1). Its profile
            // fields are blanked since 2021-12 (§2.1) and so are not taken.
            var user = await oa.GetUserInfoAsync(HubWeChat.TokenFor(app), openIdValue, cancellationToken: ct).ConfigureAwait(false);
            var unionId = user.UnionId?.Value;
            var profile = user.Language is { Length: > 0 } lang ? new[] { ProfilePolicy.Attribute("language", lang) } : [];
            var result = await recorder.RecordAsync(tenant, $"oa.subscribe:{appid}",
                [IdentityRecorder.OpenIdOf(appid, openId!), IdentityRecorder.UnionIdOf(app, unionId)], profile, ct).ConfigureAwait(false);
            if (unionId is not null && MiniProgramApi.LearnedUnionId(result))
            {
                await recorder.ConvertForProvidersAsync(tenant, app, openId!, unionId, ct).ConfigureAwait(false);
            }
            return Success();
        }
        catch (WeChatApiException e)
        {
            // Not done: forget the key and answer non-200 so that WeChat's retry gets another chance.
            await tenant.Store.ForgetSeenAsync(key, CancellationToken.None).ConfigureAwait(false);
            LogCallbackFailed(loggers.CreateLogger(typeof(CallbackApi)), "oa", appid, e.ErrCode ?? 0, e.Message);
            return FlowProblems.FromWeChat(e);
        }
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
        HttpContext http, TenantRegistry tenants, WeComClient wecom, IdentityRecorder recorder, PushGuard guard, ILoggerFactory loggers, CancellationToken ct)
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
        // Self-built apps get Event=change_external_contact; provider suites InfoType=change_external_contact (§7.5).
        var isContactChange = message["Event"] == "change_external_contact" || message["InfoType"] == "change_external_contact";
        var changeType = message["ChangeType"];
        var externalUserId = message["ExternalUserID"];
        if (!isContactChange || changeType is not ("add_external_contact" or "add_half_external_contact" or "edit_external_contact")
            || !ExternalUserId.TryParse(externalUserId, out var ext))
        {
            return Success(); // deletions, transfers and member events change no person: employees are not customers
        }
        var (tenant, corp, corpApp, _) = found;
        var key = $"wecom:{corpid}/{app}:{externalUserId}:{changeType}:{message["CreateTime"] ?? message["TimeStamp"]}";
        if (!await tenant.Store.FirstSeenAsync(key, ct).ConfigureAwait(false))
        {
            return Success();
        }
        var ns = IdentityRecorder.CorpNamespace(corp, corpApp);
        var externalId = Identifier.Create(IdentifierType.ExternalUserId, ns, externalUserId!);
        try
        {
            if (corpApp.Kind == CorpAppKinds.SelfBuilt)
            {
                // S9: a self-built app sees the plaintext id, and externalcontact/get gives the unionid when the corp's
                // developer account is bound (§6.3, §6.14).
                var detail = await wecom.GetExternalContactAsync(HubWeChat.TokenFor(corp, corpApp), ext, cancellationToken: ct).ConfigureAwait(false);
                Identifier? union = detail.ExternalContact.UnionId is { } u && !string.IsNullOrEmpty(corp.UnionSpace)
                    ? Identifier.Create(IdentifierType.UnionId, corp.UnionSpace, u.Value) : null;
                var profile = detail.ExternalContact.Type == 1 && !string.IsNullOrEmpty(detail.ExternalContact.Name)
                    ? new[] { ProfilePolicy.Attribute("nickname", detail.ExternalContact.Name) } : [];
                await recorder.RecordAsync(tenant, $"wecom.contact:{corpid}/{app}", [externalId, union], profile, ct).ConfigureAwait(false);
                return Success();
            }

            // S10: a provider app sees a ciphertext id and never a unionid. If the hub converted this person's unionid
            // earlier, WeCom issued a pending_id; external_userid_to_pending_id now says which, and observing the two
            // together links the customer to that person. The pending_id is then closed.
            var mapping = await wecom.ExternalUserIdToPendingIdAsync(HubWeChat.TokenFor(corp, corpApp), [ext], cancellationToken: ct).ConfigureAwait(false);
            var pending = mapping.Result?.FirstOrDefault(m => m.ExternalUserId.Value == ext.Value)?.PendingId;
            Identifier? pendingId = pending is { } p ? Identifier.Create(IdentifierType.PendingId, ns, p.Value) : null;
            await recorder.RecordAsync(tenant, $"wecom.contact:{corpid}/{app}", [externalId, pendingId], null, ct).ConfigureAwait(false);
            if (pending is { } closed)
            {
                await tenant.Store.ClosePendingIdAsync(ns, closed.Value, ct).ConfigureAwait(false);
            }
            return Success();
        }
        catch (WeChatApiException e)
        {
            await tenant.Store.ForgetSeenAsync(key, CancellationToken.None).ConfigureAwait(false);
            LogCallbackFailed(loggers.CreateLogger(typeof(CallbackApi)), "wecom", $"{corpid}/{app}", e.ErrCode ?? 0, e.Message);
            return FlowProblems.FromWeChat(e);
        }
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
        HttpContext http, TenantRegistry tenants, ComponentClient component, PushGuard guard, ILoggerFactory loggers, CancellationToken ct)
    {
        if (tenants.FindComponent(component_appid) is not { } found)
        {
            return FlowProblems.UnknownApp(component_appid);
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
            // Platform pushes are always encrypted, with the component appid as receiveid (§5.1, §7.2).
            message = new WeChatMessageCrypto(found.Component.Token!, found.Component.AesKey!, component_appid)
                .DecryptCallback(msg_signature, timestamp, nonce, body, MaxBody).Message;
        }
        catch (WeChatCryptoException e)
        {
            return Refused(e);
        }
        if (await guard.CheckAsync(found.Tenant, $"component:{component_appid}", timestamp, nonce, body, ct).ConfigureAwait(false) is { } stale)
        {
            return stale;
        }
        try
        {
            // component_verify_ticket is stored (the component token needs it); authorized/updateauthorized persist the
            // authorizer_refresh_token via api_query_auth; unauthorized forgets the authorizer.
            var info = await component.HandleInfoEventAsync(message, ct).ConfigureAwait(false);
            await found.Tenant.Store.SetComponentStateAsync(component_appid, "last_" + info.InfoType, info.CreateTime.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
            return Success();
        }
        catch (WeChatApiException e)
        {
            LogCallbackFailed(loggers.CreateLogger(typeof(CallbackApi)), "component", component_appid, e.ErrCode ?? 0, e.Message);
            return FlowProblems.FromWeChat(e);
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "{Kind} callback for {Target} failed (errcode {ErrCode}): {Message}; WeChat will retry")]
    private static partial void LogCallbackFailed(ILogger logger, string kind, string target, int errCode, string message);
}
