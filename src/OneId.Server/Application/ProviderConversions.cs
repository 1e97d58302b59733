using Microsoft.Extensions.Logging;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.Server.Application;

/// <summary>
/// S10: a unionid (with the openid it came with) is known. Each provider (third-party / 代开发) app of the tenant's corps
/// converts it with idconvert/unionid_to_external_userid: a customer gives the provider's ciphertext external_userid
/// (linked now); anyone else a pending_id (kept 90 days, linked now, closed when the customer arrives).
/// </summary>
public sealed partial class ProviderConversions(GraphWriter writer, WeComClient wecom, ILogger<ProviderConversions> logger)
{
    /// <summary>WeCom keeps a pending_id for 90 days (docs/wechat-api.md §6.6).</summary>
    public static readonly TimeSpan PendingIdLifetime = TimeSpan.FromDays(90);

    public async Task ConvertAsync(HubTenant tenant, AppOptions app, OpenId openId, UnionId unionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        if (string.IsNullOrEmpty(app.UnionSpace))
        {
            return;
        }
        foreach (var corp in tenant.Options.Corps.Where(c => c.UnionSpace == app.UnionSpace))
        {
            foreach (var corpApp in corp.Apps.Where(a => a.Kind == CorpAppKinds.Provider))
            {
                var ns = WeChatIdentifiers.CorpNamespace(corp, corpApp);
                var source = $"wecom.idconvert:{corp.CorpId}/{corpApp.Name}";
                try
                {
                    var conversion = await wecom.UnionIdToExternalUserIdAsync(HubWeChat.TokenFor(corp, corpApp), unionId, openId, UnionIdSubjectType.Corp, cancellationToken).ConfigureAwait(false);
                    var union = WeChatIdentifiers.UnionId(app, unionId);
                    if (conversion.ExternalUserId is { } ext)
                    {
                        await writer.RecordAsync(tenant, source, [union, WeChatIdentifiers.ExternalUserId(ns, ext)], null, cancellationToken).ConfigureAwait(false);
                    }
                    else if (conversion.PendingId is { } pending)
                    {
                        var result = await writer.RecordAsync(tenant, source, [union, WeChatIdentifiers.PendingId(ns, pending)], null, cancellationToken).ConfigureAwait(false);
                        await tenant.PendingIds.AddPendingIdAsync(ns, pending.Value, unionId.Value, result.Person, writer.Now + PendingIdLifetime, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (WeChatApiException e)
                {
                    // The login that taught us the unionid has succeeded; the conversion is a bonus that the next login retries.
                    LogConversionFailed(logger, corp.CorpId, corpApp.Name, e.ErrCode ?? 0, e.Message);
                }
            }
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "idconvert for {CorpId}/{App} failed (errcode {ErrCode}): {Message}")]
    private static partial void LogConversionFailed(ILogger logger, string corpId, string app, int errCode, string message);
}
