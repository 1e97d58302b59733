using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Ids;

namespace OneId.Server.Application;

/// <summary>
/// "Record, then convert for providers", in one place: an app user seen with their openid (and the unionid when WeChat
/// gave one) is observed; a newly learned unionid is then converted for the tenant's WeCom provider apps (S10).
/// </summary>
public sealed class IdentityRecorder(GraphWriter writer, ProviderConversions conversions)
{
    public async Task<ObserveResult> RecordAppUserAsync(HubTenant tenant, AppOptions app, string source, OpenId openId, UnionId? unionId,
        IEnumerable<ProfileAttribute>? profile, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        var result = await writer.RecordAsync(tenant, source,
            [WeChatIdentifiers.OpenId(app.AppId, openId), WeChatIdentifiers.UnionId(app, unionId)], profile, cancellationToken).ConfigureAwait(false);
        if (unionId is { } union && Learned(result))
        {
            await conversions.ConvertAsync(tenant, app, openId, union, cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    /// <summary>True when this observation created the person or linked a new identifier: only then is a WeCom conversion worth its quota.</summary>
    private static bool Learned(ObserveResult result) =>
        result.Events.Any(e => e.Kind is GraphEventKind.Created or GraphEventKind.Linked or GraphEventKind.Merged);
}
