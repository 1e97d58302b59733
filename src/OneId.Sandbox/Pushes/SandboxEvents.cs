using System.Collections.Concurrent;
using System.Security.Cryptography;
using OneId.Sandbox.State;
using OneId.Sandbox.World;

namespace OneId.Sandbox.Pushes;

/// <summary>
/// Turns what users and admins do into the pushes WeChat would send, to the callbacks of the world. Nothing is
/// pushed to an app without a callback; the action still happens.
/// </summary>
public sealed class SandboxEvents(SandboxRuntime runtime, PushDispatcher dispatcher)
{
    private static readonly TimeSpan TicketLifetime = TimeSpan.FromHours(12);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _nextTicketAt = new(StringComparer.Ordinal);

    /// <summary>OA subscribe / unsubscribe (§7.3) to the OA's callback (or its platform's message URL).</summary>
    internal void FollowChanged(SandboxApp app, string openid, bool subscribed, string? qrScene = null, string? ticket = null)
    {
        if (UserPushTarget(app) is not { } target)
        {
            return;
        }
        var originalId = app.OriginalId ?? IdDeriver.OriginalId(app.Appid);
        var eventKey = subscribed && qrScene is not null ? "qrscene_" + qrScene : null;
        var xml = PushMessages.OfficialAccountEvent(originalId, openid, runtime.Clock.UnixSeconds(), subscribed ? "subscribe" : "unsubscribe", eventKey, ticket);
        dispatcher.Enqueue(new PushEnvelope(subscribed ? "subscribe" : "unsubscribe", target.Callback, PushStyle.OfficialAccount, target.ReceiveId, originalId, xml, openid));
    }

    /// <summary>SCAN: a follower scanned a parametric QR code; EventKey is the scene without the qrscene_ prefix.</summary>
    internal void Scanned(SandboxApp app, string openid, string scene, string ticket)
    {
        if (UserPushTarget(app) is not { } target)
        {
            return;
        }
        var originalId = app.OriginalId ?? IdDeriver.OriginalId(app.Appid);
        var xml = PushMessages.OfficialAccountEvent(originalId, openid, runtime.Clock.UnixSeconds(), "SCAN", scene, ticket);
        dispatcher.Enqueue(new PushEnvelope("SCAN", target.Callback, PushStyle.OfficialAccount, target.ReceiveId, originalId, xml, openid));
    }

    /// <summary>
    /// Where an app's user pushes go. While the app has authorized a platform that has a message URL, WeChat sends
    /// them there — the URL with <c>$APPID$</c> replaced by the app's appid, encrypted with the platform's token and
    /// key, the component appid as receiveid (docs/wechat-api.md §7.6) — and no longer to the app's own server URL.
    /// Otherwise the app's own callback, receiveid the appid; null when neither is set.
    /// </summary>
    private (SandboxCallback Callback, string ReceiveId)? UserPushTarget(SandboxApp app)
    {
        var state = runtime.State;
        foreach (var component in state.World.Components)
        {
            if (component.MessageCallback is { } messages && IsAuthorizer(state, component, app.Appid))
            {
                return (new SandboxCallback
                {
                    Url = messages.Url.Replace(SandboxComponent.AppIdPlaceholder, app.Appid, StringComparison.Ordinal),
                    Token = string.IsNullOrEmpty(messages.Token) ? component.Token ?? "" : messages.Token,
                    AesKey = messages.AesKey ?? component.AesKey,
                }, component.ComponentAppid);
            }
        }
        return app.Callback is { } own ? (own, app.Appid) : null;
    }

    private static bool IsAuthorizer(SandboxWorldState state, SandboxComponent component, string appid) =>
        OneId.Sandbox.Endpoints.ApiContext.IsAuthorizer(state, component, appid);

    /// <summary>agree_external_userid_migration to the provider's suite callbacks in the corp.</summary>
    internal void MigrationAgreed(CorpAppRef app)
    {
        var state = runtime.State;
        var (serviceCorpId, _) = state.ProviderCredentials(app.App.Provider!);
        var xml = PushMessages.AgreeExternalUserIdMigration(serviceCorpId, state.CorpIdSeenBy(app), runtime.Clock.UnixSeconds());
        foreach (var sibling in state.ProviderApps(app.App.Provider!).Where(a => a.Corp == app.Corp && a.App.Callback is not null))
        {
            dispatcher.Enqueue(new PushEnvelope("agree_external_userid_migration", sibling.App.Callback!, PushStyle.WeCom, sibling.SuiteId, sibling.SuiteId, xml));
        }
    }

    /// <summary>
    /// change_external_contact to every app of the corp that has a callback (§7.5): self-built apps get the
    /// plaintext id (receiveid corpid), provider apps the suite version with their ciphertext id (receiveid suite_id).
    /// </summary>
    internal void ContactChanged(SandboxCorp corp, string member, string user, string changeType, string? state, string? welcomeCode)
    {
        var world = runtime.State;
        var now = runtime.Clock.UnixSeconds();
        foreach (var app in corp.Apps)
        {
            if (app.Callback is not { } callback)
            {
                continue;
            }
            var reference = new CorpAppRef(corp, app);
            var externalUserId = world.ExternalUserIdOf(reference, user);
            if (reference.IsProvider)
            {
                // The suite sees the corp and the member as its id upgrade says: open corpid and open_userid once upgraded.
                var xml = PushMessages.SuiteContactChange(reference.SuiteId, world.CorpIdSeenBy(reference), now, changeType,
                    world.MemberIdSeenBy(reference, member), externalUserId, state, welcomeCode);
                dispatcher.Enqueue(new PushEnvelope(changeType, callback, PushStyle.WeCom, reference.SuiteId, reference.SuiteId, xml));
            }
            else
            {
                var xml = PushMessages.SelfBuiltContactChange(corp.Corpid, now, changeType, member, externalUserId, state, welcomeCode);
                dispatcher.Enqueue(new PushEnvelope(changeType, callback, PushStyle.WeCom, corp.Corpid, corp.Corpid, xml,
                    AgentId: app.AgentId?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
    }

    /// <summary>Issues a component_verify_ticket and pushes it (§5.1). Returns the ticket.</summary>
    internal string PushTicket(SandboxComponent component)
    {
        var state = runtime.State;
        var ticket = "ticket@@@" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        var now = runtime.Clock.GetUtcNow();
        state.Tickets[ticket] = now;
        state.LatestTickets[component.ComponentAppid] = ticket;
        _nextTicketAt[component.ComponentAppid] = now + runtime.Options.ComponentTicketInterval;
        PushInfo(component, "component_verify_ticket", ("ComponentVerifyTicket", ticket));
        return ticket;
    }

    /// <summary>authorized / unauthorized INFO events (§7.4).</summary>
    internal void PushInfo(SandboxComponent component, string infoType, params (string Name, object Value)[] fields)
    {
        if (ComponentCallback(component) is not { } callback)
        {
            return;
        }
        var xml = PushMessages.ComponentInfo(component.ComponentAppid, runtime.Clock.UnixSeconds(), infoType, fields);
        dispatcher.Enqueue(new PushEnvelope(infoType, callback, PushStyle.Component, component.ComponentAppid, component.ComponentAppid, xml));
    }

    /// <summary>Issues a suite_ticket and pushes it to the first app of the suite with a callback. Returns the ticket.</summary>
    internal string PushSuiteTicket(string suiteId)
    {
        var state = runtime.State;
        var ticket = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        var now = runtime.Clock.GetUtcNow();
        state.SuiteTickets[ticket] = (suiteId, now);
        _nextTicketAt["suite:" + suiteId] = now + runtime.Options.ComponentTicketInterval;
        if (state.SuiteApps(suiteId).FirstOrDefault(a => a.App.Callback is not null) is { } app)
        {
            var xml = PushMessages.SuiteTicket(suiteId, now.ToUnixTimeSeconds(), ticket);
            dispatcher.Enqueue(new PushEnvelope("suite_ticket", app.App.Callback!, PushStyle.WeCom, suiteId, suiteId, xml));
        }
        return ticket;
    }

    /// <summary>Pushes tickets that are due (component and suite tickets every 10 sandbox minutes; the first at start).</summary>
    internal void PushDueTickets()
    {
        var now = runtime.Clock.GetUtcNow();
        foreach (var component in runtime.State.World.Components)
        {
            if (!_nextTicketAt.TryGetValue(component.ComponentAppid, out var due) || due <= now)
            {
                PushTicket(component);
            }
        }
        foreach (var suiteId in runtime.State.World.Corps.SelectMany(c => c.Apps.Where(a => a.Kind == CorpAppKinds.Provider).Select(a => new CorpAppRef(c, a).SuiteId)).Distinct())
        {
            if (!_nextTicketAt.TryGetValue("suite:" + suiteId, out var due) || due <= now)
            {
                PushSuiteTicket(suiteId);
            }
        }
    }

    /// <summary>After a world change every component gets a fresh ticket at once.</summary>
    internal void ResetTicketSchedule() => _nextTicketAt.Clear();

    /// <summary>Is a ticket one we issued, and still within its 12 hours? 61006 unknown, 61005 expired (§5.2).</summary>
    internal static int? CheckTicket(SandboxWorldState state, string? ticket) =>
        ticket is null || !state.Tickets.TryGetValue(ticket, out var issuedAt) ? 61006
        : state.Clock.GetUtcNow() - issuedAt > TicketLifetime ? 61005
        : null;

    /// <summary>The platform's event URL, with the platform's token and key when the callback does not set them.</summary>
    private static SandboxCallback? ComponentCallback(SandboxComponent component) => component.Callback is not { } callback
        ? null
        : new SandboxCallback
        {
            Url = callback.Url,
            Token = string.IsNullOrEmpty(callback.Token) ? component.Token ?? "" : callback.Token,
            AesKey = callback.AesKey ?? component.AesKey,
        };
}
