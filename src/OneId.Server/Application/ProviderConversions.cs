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
/// them. For every provider app of a corp bound to the unionid's space that the person has no id of yet,
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
        tenant?.Corps.Any(c => !string.IsNullOrEmpty(c.UnionSpace) && c.Apps.Any(a => a.Kind == CorpAppKinds.Provider)) == true;

    /// <summary>
    /// Converts what <paramref name="person"/> lacks. Throws <see cref="WeChatApiException"/> when WeChat failed
    /// transiently (the caller retries later); a permanent refusal is logged and skipped.
    /// </summary>
    public async Task ConvertMissingAsync(HubTenant tenant, Person person, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(person);
        foreach (var union in person.Identifiers.Where(i => i.Type == IdentifierType.UnionId))
        {
            // unionid_to_external_userid wants the openid the unionid came with, of an app in the same union space.
            var openId = person.Identifiers.FirstOrDefault(i => i.Type == IdentifierType.OpenId && tenant.FindApp(i.Namespace)?.UnionSpace == union.Namespace);
            if (openId.Value is null)
            {
                continue;
            }
            foreach (var corp in tenant.Options.Corps.Where(c => c.UnionSpace == union.Namespace))
            {
                foreach (var corpApp in corp.Apps.Where(a => a.Kind == CorpAppKinds.Provider))
                {
                    var ns = WeChatIdentifiers.CorpNamespace(corp, corpApp);
                    if (person.Identifiers.Any(i => i.Namespace == ns && (i.Type == IdentifierType.ExternalUserId || i.Type == IdentifierType.PendingId)))
                    {
                        continue;
                    }
                    await ConvertAsync(tenant, corp, corpApp, ns, union, openId, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task ConvertAsync(HubTenant tenant, CorpOptions corp, CorpAppOptions corpApp, string ns, Identifier union, Identifier openId, CancellationToken ct)
    {
        UnionIdConversion conversion;
        try
        {
            conversion = await wecom.UnionIdToExternalUserIdAsync(HubWeChat.TokenFor(corp, corpApp), UnionId.Parse(union.Value), OpenId.Parse(openId.Value),
                UnionIdSubjectType.Corp, ct).ConfigureAwait(false);
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
        }
        else if (conversion.PendingId is { } pending)
        {
            var result = await writer.RecordAsync(tenant, source, [union, WeChatIdentifiers.PendingId(ns, pending)], null, ct).ConfigureAwait(false);
            await tenant.PendingIds.AddPendingIdAsync(ns, pending.Value, union.Value, result.Person, writer.Now + PendingIdLifetime, ct).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "idconvert for {CorpId}/{App} refused (errcode {ErrCode}): {Message}; not retried for this person")]
    private static partial void LogConversionRefused(ILogger logger, string corpId, string app, int errCode, string message);
}
