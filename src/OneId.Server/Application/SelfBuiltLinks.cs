using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;

namespace OneId.Server.Application;

/// <summary>
/// One customer of a corp that runs both a self-built app and a provider (third-party / 代开发) app is seen under two
/// external_userids: the corp's plaintext one and the provider's ciphertext one. Nothing else in WeChat links them,
/// so a person holding a provider id but no plaintext id of the same corp gets it from
/// externalcontact/from_service_external_userid (called with the self-built app's token and the provider app's
/// agentid, docs/wechat-api.md §6.13), and the two are observed together. The reverse direction has no API: a
/// plaintext id reaches the provider's namespace only through the unionid (<see cref="ProviderConversions"/>).
/// Run by the follow-up worker; what the person lacks is read from the graph each time, so it is idempotent.
/// </summary>
public sealed partial class SelfBuiltLinks(GraphWriter writer, WeComClient wecom, ILogger<SelfBuiltLinks> logger)
{
    /// <summary>Whether some corp of the tenant has a self-built app and a provider app whose agentid is configured.</summary>
    public static bool Applies(TenantOptions tenant) => tenant?.Corps.Any(c => SelfBuilt(c) is not null && Providers(c).Any()) == true;

    private static CorpAppOptions? SelfBuilt(CorpOptions corp) => corp.Apps.FirstOrDefault(a => a.Kind == CorpAppKinds.SelfBuilt);

    private static IEnumerable<CorpAppOptions> Providers(CorpOptions corp) => corp.Apps.Where(a => a.Kind == CorpAppKinds.Provider && a.AgentId is not null);

    /// <summary>
    /// Links what <paramref name="person"/> lacks. Throws <see cref="WeChatApiException"/> when WeChat failed
    /// transiently (the caller retries later); a permanent refusal (not a customer of the self-built app's members,
    /// 40096; no permission) is logged and skipped.
    /// </summary>
    public async Task LinkMissingAsync(HubTenant tenant, Person person, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(person);
        foreach (var corp in tenant.Options.Corps)
        {
            if (SelfBuilt(corp) is not { } selfBuilt || person.Identifiers.Any(i => i.Type == IdentifierType.ExternalUserId && i.Namespace == WeChatIdentifiers.CorpNamespace(corp, selfBuilt)))
            {
                continue;
            }
            foreach (var provider in Providers(corp))
            {
                var ns = WeChatIdentifiers.CorpNamespace(corp, provider);
                var held = person.Identifiers.FirstOrDefault(i => i.Type == IdentifierType.ExternalUserId && i.Namespace == ns);
                if (held.Value is null || !ExternalUserId.TryParse(held.Value, out var cipher))
                {
                    continue;
                }
                ExternalUserId plain;
                try
                {
                    plain = (await wecom.FromServiceExternalUserIdAsync(HubWeChat.TokenFor(corp, selfBuilt), cipher, provider.AgentId!.Value, cancellationToken)
                        .ConfigureAwait(false)).ExternalUserId;
                }
                catch (WeChatApiException e) when (!e.IsTransient)
                {
                    LogRefused(logger, corp.CorpId, provider.Name, e.ErrCode ?? 0, e.Message);
                    continue;
                }
                await writer.RecordAsync(tenant, $"wecom.from_service:{corp.CorpId}/{provider.Name}",
                    [held, WeChatIdentifiers.ExternalUserId(WeChatIdentifiers.CorpNamespace(corp, selfBuilt), plain)], null, cancellationToken).ConfigureAwait(false);
                break; // one plaintext id per corp: the person now holds it
            }
        }
    }

    [LoggerMessage(EventId = 2040, Level = LogLevel.Warning, Message = "from_service_external_userid for {CorpId}/{App} refused (errcode {ErrCode}): {Message}; not retried for this person")]
    private static partial void LogRefused(ILogger logger, string corpId, string app, int errCode, string message);
}
