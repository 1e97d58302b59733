using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.Server.Application;

/// <summary>
/// S10: a person whose unionid the hub knows should also hold each WeCom provider (third-party / 代开发) app's id for
/// them. For every provider app the person has no id of yet, when the unionid and its openid have the corp's subject
/// (subject_type 0) or the provider's (1, e.g. the provider's own MP; <see cref="SubjectRules"/>),
/// idconvert/unionid_to_external_userid gives the provider's ciphertext external_userid (a customer: linked now) or a
/// pending_id (not a customer yet: kept 90 days, linked now, closed when they become one). Run by the follow-up
/// worker, never inside a login or a callback; what the person lacks is read from the graph each time, so the
/// outcome does not depend on the order in which the evidence arrived, and running it twice converts nothing twice.
/// </summary>
public sealed partial class ProviderConversions(GraphWriter writer, WeComClient wecom, ILogger<ProviderConversions> logger)
{
    /// <summary>WeCom keeps a pending_id for 90 days (docs/wechat-api.md §6.6).</summary>
    public static readonly TimeSpan PendingIdLifetime = TimeSpan.FromDays(90);

    /// <summary>Whether the tenant has any provider app a unionid could be converted for.</summary>
    public static bool Applies(TenantOptions tenant) =>
        tenant?.Corps.Any(c => c.Apps.Any(a => a.Kind == CorpAppKinds.Provider && SubjectTypesPossible(tenant, c, a))) == true;

    // A provider app converts ids of the corp's subject (its bound union space, or declared) or of its provider's.
    private static bool SubjectTypesPossible(TenantOptions tenant, CorpOptions corp, CorpAppOptions app) =>
        SubjectRules.OfCorp(tenant, corp) is not null || SubjectRules.OfProvider(tenant, app.Provider) is not null;

    /// <summary>
    /// The subject_type to send for a unionid of <paramref name="unionSpace"/> and an openid of
    /// <paramref name="openIdApp"/>: both must have one subject, and it must be the corp's (0) or the provider's (1);
    /// otherwise null, and WeChat is not asked (it would answer 845003, docs/wechat-api.md §6.15).
    /// </summary>
    public static UnionIdSubjectType? SubjectTypeFor(TenantOptions tenant, CorpOptions corp, CorpAppOptions app, string unionSpace, AppOptions openIdApp)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(corp);
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(openIdApp);
        var ids = SubjectRules.OfUnionSpace(tenant, unionSpace);
        if (ids is null || SubjectRules.OfApp(tenant, openIdApp) != ids)
        {
            return null;
        }
        if (SubjectRules.OfCorp(tenant, corp) == ids)
        {
            return UnionIdSubjectType.Corp;
        }
        return SubjectRules.OfProvider(tenant, app.Provider) == ids ? UnionIdSubjectType.Provider : null;
    }

    /// <summary>
    /// Converts what <paramref name="person"/> lacks. Throws <see cref="WeChatApiException"/> when WeChat failed
    /// transiently (the caller retries later); a permanent refusal is logged and skipped.
    /// </summary>
    public Task ConvertMissingAsync(HubTenant tenant, Person person, CancellationToken cancellationToken) => ConvertMissingAsync(tenant, person, null, cancellationToken);

    /// <summary>
    /// The refresh sweep: every open pending_id whose 90 days are over is converted again for its person. WeCom then
    /// answers the customer's external_userid (they became one: linked), the same pending_id (asked again a day
    /// later), or a new pending_id for the same unionid, which replaces the old one in the person (docs/model.md §3.9).
    /// </summary>
    public async Task RefreshDueAsync(HubTenant tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        foreach (var stored in await tenant.PendingIds.DuePendingIdsAsync(writer.Now, 100, cancellationToken).ConfigureAwait(false))
        {
            var id = Identifier.Create(IdentifierType.PendingId, stored.CorpNamespace, stored.PendingId);
            if (await tenant.Graph.FindAsync(id, cancellationToken).ConfigureAwait(false) is not { } person || person.ReplacedBy.ContainsKey(id)
                || person.Identifiers.Any(i => i.Type == IdentifierType.ExternalUserId && i.Namespace == stored.CorpNamespace))
            {
                // Retracted, replaced or a customer meanwhile: nothing to refresh.
                await tenant.PendingIds.ClosePendingIdAsync(stored.CorpNamespace, stored.PendingId, cancellationToken).ConfigureAwait(false);
                continue;
            }
            await ConvertMissingAsync(tenant, person, [(stored.CorpNamespace, stored.PendingId)], cancellationToken).ConfigureAwait(false);
            // Whatever WeCom answered, this pending_id has been dealt with for now (closed, replaced or renewed);
            // a refusal leaves it due and it is asked about again at the next pass.
        }
    }

    private async Task ConvertMissingAsync(HubTenant tenant, Person person, HashSet<(string Ns, string PendingId)>? due, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(person);
        foreach (var union in person.Identifiers.Where(i => i.Type == IdentifierType.UnionId))
        {
            // unionid_to_external_userid wants the openid the unionid came with, of an app in the same union space.
            var openIds = person.Identifiers
                .Where(i => i.Type == IdentifierType.OpenId)
                .Select(i => (Id: i, App: tenant.FindApp(i.Namespace)))
                .Where(x => x.App?.UnionSpace == union.Namespace)
                .ToList();
            if (openIds.Count == 0)
            {
                continue;
            }
            foreach (var corp in tenant.Options.Corps)
            {
                foreach (var corpApp in corp.Apps.Where(a => a.Kind == CorpAppKinds.Provider))
                {
                    var ns = WeChatIdentifiers.CorpNamespace(corp, corpApp);
                    if (person.Identifiers.Any(i => i.Namespace == ns && i.Type == IdentifierType.ExternalUserId))
                    {
                        continue;
                    }
                    // A pending_id in effect is asked about again only once its 90 days are over (the refresh sweep).
                    var pending = person.Identifiers.FirstOrDefault(i => i.Namespace == ns && i.Type == IdentifierType.PendingId && !person.ReplacedBy.ContainsKey(i));
                    if (pending.Value is not null && due?.Contains((ns, pending.Value)) != true)
                    {
                        continue;
                    }
                    Identifier? pendingBefore = pending.Value is null ? null : pending;
                    // The first openid whose app has the unionid's subject, if that subject is the corp's or the provider's.
                    foreach (var (openId, app) in openIds)
                    {
                        if (SubjectTypeFor(tenant.Options, corp, corpApp, union.Namespace, app!) is { } subjectType)
                        {
                            await ConvertAsync(tenant, corp, corpApp, ns, union, openId, subjectType, pendingBefore, cancellationToken).ConfigureAwait(false);
                            break;
                        }
                    }
                }
            }
        }
    }

    private async Task ConvertAsync(HubTenant tenant, CorpOptions corp, CorpAppOptions corpApp, string ns, Identifier union, Identifier openId,
        UnionIdSubjectType subjectType, Identifier? pendingBefore, CancellationToken ct)
    {
        UnionIdConversion conversion;
        try
        {
            conversion = await wecom.UnionIdToExternalUserIdAsync(HubWeChat.TokenFor(corp, corpApp), UnionId.Parse(union.Value), OpenId.Parse(openId.Value),
                subjectType, ct).ConfigureAwait(false);
        }
        catch (WeChatApiException e) when (!e.IsTransient)
        {
            // A permanent refusal (e.g. the app lacks the customer-contact permission) is not retried for this person.
            LogConversionRefused(logger, corp.CorpId, corpApp.Name, e.ErrCode ?? 0, e.Message);
            return;
        }
        var source = $"wecom.idconvert:{corp.CorpId}/{corpApp.Name}";
        if (conversion.ExternalUserId is { } ext)
        {
            await writer.RecordAsync(tenant, source, [union, WeChatIdentifiers.ExternalUserId(ns, ext)], null, ct).ConfigureAwait(false);
            if (pendingBefore is { } closed)
            {
                await tenant.PendingIds.ClosePendingIdAsync(ns, closed.Value, ct).ConfigureAwait(false);
            }
        }
        else if (conversion.PendingId is { } pending)
        {
            var issued = WeChatIdentifiers.PendingId(ns, pending);
            if (pendingBefore is { } same && same.Equals(issued))
            {
                // WeCom still answers the same one (its clock and ours differ a little): ask again a day later.
                await tenant.PendingIds.RenewPendingIdAsync(ns, pending.Value, writer.Now + TimeSpan.FromDays(1), ct).ConfigureAwait(false);
                return;
            }
            // A pending_id re-issued for the same unionid replaces the expired one in the person: never a conflict.
            var result = pendingBefore is { } expired
                ? await writer.RecordReplacingAsync(tenant, source, [union, issued], [new Replacement(expired, issued)], ct).ConfigureAwait(false)
                : await writer.RecordAsync(tenant, source, [union, issued], null, ct).ConfigureAwait(false);
            await tenant.PendingIds.AddPendingIdAsync(ns, pending.Value, union.Value, result.Person, writer.Now + PendingIdLifetime, ct).ConfigureAwait(false);
            if (pendingBefore is { } gone)
            {
                await tenant.PendingIds.ClosePendingIdAsync(ns, gone.Value, ct).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "idconvert for {CorpId}/{App} refused (errcode {ErrCode}): {Message}; not retried for this person")]
    private static partial void LogConversionRefused(ILogger logger, string corpId, string app, int errCode, string message);
}
