using System.Globalization;
using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.Storage.Hub;
using OneId.Storage.Secrets;
using OneId.WeChat.Clients;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;

namespace OneId.Server.Application;

/// <summary>Where a verified push came from.</summary>
public enum PushKind
{
    /// <summary>An Official Account's message push; target is the appid.</summary>
    OfficialAccount,
    /// <summary>A WeCom app's event push; target is corpid/app name.</summary>
    WeCom,
    /// <summary>A third-party platform's authorization events; target is the component appid.</summary>
    Component,
}

/// <summary>
/// A verified, decrypted push that means something to the hub, with the key that identifies WeChat's retries of it and,
/// once taken from the inbox, when it arrived there (the first arrival: a retry of a push already taken adds nothing).
/// </summary>
public sealed record InboundPush(PushKind Kind, string Target, string DedupeKey, WeChatXmlMessage Message, EvidenceArrival? Arrival = null);

/// <summary>
/// Push triggers: OA follow / unfollow (S1), WeCom customer-contact events (S9 self-built, S10 provider) and third-party
/// platform INFO events (S7). <c>Classify*</c> decide at once whether a push matters and how its retries are known;
/// <see cref="AcceptAsync"/> stores the push in the durable inbox; <see cref="ProcessAsync"/> (called by the
/// <see cref="InboxWorker"/>) does the work, which may call WeChat and so may be slow or fail.
/// </summary>
public sealed partial class PushFlows(OfficialAccountClient oa, WeComClient wecom, ComponentClient component, IdentityRecorder recorder,
    GraphWriter writer, RelationshipRecorder relationships, InboxSignal signal, DataProtector protector, ILogger<PushFlows> logger)
{
    /// <summary>An OA push, or null when it carries nothing for the graph (messages, menu clicks, …).</summary>
    public static InboundPush? ClassifyOfficialAccount(string appId, WeChatXmlMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var evt = message["MsgType"] == "event" ? message["Event"] : null;
        // SCAN: a follower scanned a parametric QR code; its EventKey is the poster's scene (docs/wechat-api.md §7.3).
        if (evt is not ("subscribe" or "unsubscribe" or "SCAN") || !OpenId.TryParse(message["FromUserName"], out var openId))
        {
            return null;
        }
        // WeChat retries a push 3 times when it gets no answer within 5 s; events carry no MsgId, so FromUserName +
        // CreateTime identify them (docs/wechat-api.md §7.2).
        return new InboundPush(PushKind.OfficialAccount, appId, $"oa:{appId}:{message["MsgId"] ?? $"{openId.Value}:{message["CreateTime"]}:{evt}"}", message);
    }

    /// <summary>
    /// A WeCom push that adds, edits or deletes a customer contact, or null (transfers and member events: employees are
    /// not customers). Deletions change no person, only the contact relationship.
    /// </summary>
    public static InboundPush? ClassifyWeCom(string corpId, string appName, WeChatXmlMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        // Self-built apps get Event=change_external_contact; provider suites InfoType=change_external_contact (docs/wechat-api.md §7.5).
        var isContactChange = message["Event"] == "change_external_contact" || message["InfoType"] == "change_external_contact";
        var changeType = message["ChangeType"];
        if (!isContactChange || changeType is not ("add_external_contact" or "add_half_external_contact" or "edit_external_contact"
                or "del_external_contact" or "del_follow_user")
            || !ExternalUserId.TryParse(message["ExternalUserID"], out var ext))
        {
            return null;
        }
        // The member is part of the key: two members adding one customer in the same second are two pushes.
        return new InboundPush(PushKind.WeCom, $"{corpId}/{appName}",
            $"wecom:{corpId}/{appName}:{ext.Value}:{changeType}:{message["UserID"]}:{message["CreateTime"] ?? message["TimeStamp"]}", message);
    }

    /// <summary>Every platform INFO event matters: verify tickets, authorizations and their revocation.</summary>
    public static InboundPush ClassifyComponent(string componentAppId, WeChatXmlMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new InboundPush(PushKind.Component, componentAppId,
            $"component:{componentAppId}:{message["InfoType"]}:{message["AuthorizerAppid"]}:{message["CreateTime"]}", message);
    }

    /// <summary>Does what the push says. Throws <see cref="WeChatApiException"/> when WeChat failed; calling again is safe.</summary>
    public async Task ProcessAsync(HubTenant tenant, InboundPush push, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(push);
        switch (push.Kind)
        {
            case PushKind.OfficialAccount:
                await OfficialAccountAsync(tenant, push, cancellationToken).ConfigureAwait(false);
                break;
            case PushKind.WeCom:
                await WeComAsync(tenant, push, cancellationToken).ConfigureAwait(false);
                break;
            case PushKind.Component:
                await ComponentAsync(tenant, push, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(push), push.Kind, "unknown push kind");
        }
    }

    private async Task OfficialAccountAsync(HubTenant tenant, InboundPush push, CancellationToken ct)
    {
        var app = tenant.FindApp(push.Target) ?? throw new InvalidOperationException($"app {push.Target} is no longer configured in tenant {tenant.Name}");
        var message = push.Message;
        var openId = OpenId.Parse(message["FromUserName"]!);
        var openIdentifier = WeChatIdentifiers.OpenId(app.AppId, openId);
        var at = relationships.PushTime(message);
        // CreateTime counts whole seconds: a follow and an unfollow of one second are ordered by when the hub took them
        // in (the inbox keeps the first arrival of each; WeChat's dedupe key of events, FromUserName + CreateTime, is
        // taken per event so the two are two pushes). The later-arriving one wins, whatever order they are processed in.
        var arrival = push.Arrival;
        if (message["Event"] == "unsubscribe")
        {
            // S14: an unfollow is a state of the follow relationship, not evidence about identity: it observes nothing,
            // so an unfollow from an openid the hub never saw creates no person. Stored by openid, it still wins over
            // an older subscribe processed after it.
            await relationships.RecordFollowsAsync(tenant, [new FollowChange(openIdentifier, false, at, Arrival: arrival)], ct).ConfigureAwait(false);
            return;
        }
        // A follow event carries only the openid; user/info adds the unionid when the OA is bound (S1). Its profile
        // fields are blanked since 2021-12 (docs/wechat-api.md §2.1) and so are not taken. A SCAN comes from someone
        // who follows already, whom the hub may not know yet: learned the same way.
        var user = await oa.GetUserInfoAsync(HubWeChat.TokenFor(app), openId, cancellationToken: ct).ConfigureAwait(false);
        var profile = user.Language is { Length: > 0 } lang ? new[] { ProfilePolicy.Attribute("language", lang) } : [];
        var scan = message["Event"] == "SCAN";
        await recorder.RecordAppUserAsync(tenant, app, scan ? $"oa.scan:{app.AppId}" : $"oa.subscribe:{app.AppId}", openId, user.UnionId, profile, ct).ConfigureAwait(false);
        var scene = RelationshipRecorder.SceneOf(message);
        if (scan)
        {
            // Only followers get SCAN: it says they follow at that time, but did not bring them (the follow's scene stays).
            await relationships.RecordFollowsAsync(tenant, [new FollowChange(openIdentifier, true, at, Arrival: arrival)], ct).ConfigureAwait(false);
            if (scene is not null)
            {
                await relationships.RecordScanAsync(tenant, openIdentifier, scene, at, ct).ConfigureAwait(false);
            }
            return;
        }
        await relationships.RecordFollowsAsync(tenant, [new FollowChange(openIdentifier, true, at, scene, at, arrival)], ct).ConfigureAwait(false);
    }

    private async Task WeComAsync(HubTenant tenant, InboundPush push, CancellationToken ct)
    {
        var slash = push.Target.IndexOf('/', StringComparison.Ordinal);
        var corp = tenant.Options.Corps.FirstOrDefault(c => c.CorpId == push.Target[..slash]);
        var corpApp = corp?.Apps.FirstOrDefault(a => a.Name == push.Target[(slash + 1)..])
            ?? throw new InvalidOperationException($"WeCom app {push.Target} is no longer configured in tenant {tenant.Name}");
        var ext = ExternalUserId.Parse(push.Message["ExternalUserID"]!);
        var ns = WeChatIdentifiers.CorpNamespace(corp!, corpApp);
        var source = $"wecom.contact:{push.Target}";
        var externalId = WeChatIdentifiers.ExternalUserId(ns, ext);
        var changeType = push.Message["ChangeType"];
        var member = push.Message["UserID"];
        var at = relationships.PushTime(push.Message);
        if (changeType is "del_external_contact" or "del_follow_user")
        {
            // S14/S15: the member deleted the customer (del_external_contact) or the customer deleted the member
            // (del_follow_user, docs/wechat-api.md §7.5). Only the contact relationship ends; no identity is observed.
            if (!string.IsNullOrEmpty(member))
            {
                await relationships.RecordContactsAsync(tenant,
                    [new ContactChange(externalId, member, false, at, RemovedBy: changeType == "del_external_contact" ? "member" : "customer")], ct).ConfigureAwait(false);
            }
            return;
        }
        try
        {
            await ObserveCustomerAsync(tenant, corp!, corpApp, ext, ns, externalId, source, ct).ConfigureAwait(false);
        }
        catch (WeChatApiException e) when (e.ErrCode == 84061)
        {
            // 84061 "not external contact": by the time this add is processed the customer is no longer anyone's
            // contact (a deletion overtook it, §6.3). Nothing can be learned about them now, and retrying cannot
            // change that; the add is still recorded below, and loses to the newer deletion.
            LogNoLongerContact(logger, tenant.Name, push.Target);
        }
        if (!string.IsNullOrEmpty(member))
        {
            // add_external_contact carries State: the contact way (联系我) or acquisition link that brought them, the
            // channel (§7.5). An edit says they are still contacts at that time.
            var state = changeType is "add_external_contact" or "add_half_external_contact" && push.Message["State"] is { Length: > 0 } s ? s : null;
            await relationships.RecordContactsAsync(tenant, [new ContactChange(externalId, member, true, at, state, AddedAt: changeType == "edit_external_contact" ? null : at)], ct).ConfigureAwait(false);
        }
    }

    private async Task ObserveCustomerAsync(HubTenant tenant, CorpOptions corp, CorpAppOptions corpApp, ExternalUserId ext, string ns, Identifier externalId, string source, CancellationToken ct)
    {
        if (corpApp.Kind == CorpAppKinds.SelfBuilt)
        {
            // S9: a self-built app sees the plaintext id, and externalcontact/get gives the unionid when the corp's
            // developer account is bound (docs/wechat-api.md §6.3, §6.14).
            var detail = await wecom.GetExternalContactAsync(HubWeChat.TokenFor(corp, corpApp), ext, cancellationToken: ct).ConfigureAwait(false);
            var profile = detail.ExternalContact.Type == 1 && !string.IsNullOrEmpty(detail.ExternalContact.Name)
                ? new[] { ProfilePolicy.Attribute("nickname", detail.ExternalContact.Name) } : [];
            await writer.RecordAsync(tenant, source, [externalId, WeChatIdentifiers.UnionId(corp.UnionSpace, detail.ExternalContact.UnionId)], profile, ct).ConfigureAwait(false);
            return;
        }
        // S10: a provider app sees a ciphertext id and never a unionid. If the hub converted this person's unionid
        // earlier, WeCom issued a pending_id; external_userid_to_pending_id now says which, and observing the two
        // together links the customer to that person. The pending_id is then closed.
        var mapping = await wecom.ExternalUserIdToPendingIdAsync(HubWeChat.TokenFor(corp, corpApp), [ext], cancellationToken: ct).ConfigureAwait(false);
        var pending = mapping.Result?.FirstOrDefault(m => m.ExternalUserId.Value == ext.Value)?.PendingId;
        await writer.RecordAsync(tenant, source, [externalId, pending is { } p ? WeChatIdentifiers.PendingId(ns, p) : null], null, ct).ConfigureAwait(false);
        if (pending is { } closed)
        {
            await tenant.PendingIds.ClosePendingIdAsync(ns, closed.Value, ct).ConfigureAwait(false);
        }
    }

    private async Task ComponentAsync(HubTenant tenant, InboundPush push, CancellationToken ct)
    {
        // component_verify_ticket is stored (the component token needs it); authorized/updateauthorized persist the
        // authorizer_refresh_token via api_query_auth; unauthorized forgets the authorizer.
        var info = await component.HandleInfoEventAsync(push.Message, ct).ConfigureAwait(false);
        await tenant.ComponentState.SetComponentStateAsync(push.Target, "last_" + info.InfoType,
            info.CreateTime.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes a verified push into the tenant's durable inbox, in the one statement that also takes its dedupe key: a
    /// retry of a push already taken changes nothing. The inbox worker processes it; the caller answers WeChat now,
    /// well inside its 5 s, whatever WeChat's own APIs will take.
    /// </summary>
    public async Task AcceptAsync(HubTenant tenant, InboundPush push, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(push);
        // Not cancelled with the request: once WeChat's push is verified it is stored, even if WeChat stopped waiting.
        // The decrypted XML is a secret at rest: a third-party platform's pushes carry the component_verify_ticket and
        // authorization codes (component "INFO" events). Sealed with the data key, bound to the push's dedupe key.
        var sealedPayload = protector.Protect(push.Message.ToString(), InboxBinding(push.DedupeKey));
        if (await tenant.Inbox.AddAsync(push.DedupeKey, push.Kind.ToString(), push.Target, sealedPayload, CancellationToken.None).ConfigureAwait(false))
        {
            signal.Notify();
            LogAccepted(logger, tenant.Name, push.Kind, push.Target, push.DedupeKey);
        }
    }

    /// <summary>The push an inbox item holds, unsealed; throws when this hub's data key cannot open it.</summary>
    public InboundPush OpenFromInbox(InboxItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var xml = protector.Unprotect(item.Payload, InboxBinding(item.DedupeKey))
            ?? throw new InvalidOperationException("the stored push cannot be decrypted with this hub's data_key (was the key changed?)");
        return new InboundPush(Enum.Parse<PushKind>(item.Kind), item.Target, item.DedupeKey, WeChatXml.Parse(xml), new EvidenceArrival(item.ReceivedAt, item.Id));
    }

    private static string InboxBinding(string dedupeKey) => "inbox:" + dedupeKey;

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "{Tenant}: a customer add for {Target} arrived after the customer stopped being a contact (84061); only the contact's state is recorded")]
    private static partial void LogNoLongerContact(ILogger logger, string tenant, string target);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "{Tenant}: {Kind} push for {Target} stored in the inbox ({Key})")]
    private static partial void LogAccepted(ILogger logger, string tenant, PushKind kind, string target, string key);
}
