using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Ids;

namespace OneId.Server.Application;

/// <summary>
/// An app user seen with their openid (and the unionid when WeChat gave one), observed in one place. What a newly
/// learned unionid makes possible (the WeCom provider conversions of S10) is a follow-up: the
/// <see cref="FollowUpWorker"/> does it from the event this write appends, so no login or push waits for it.
/// </summary>
public sealed class IdentityRecorder(GraphWriter writer)
{
    public Task<ObserveResult> RecordAppUserAsync(HubTenant tenant, AppOptions app, string source, OpenId openId, UnionId? unionId,
        IEnumerable<ProfileAttribute>? profile, CancellationToken cancellationToken) =>
        RecordAppUserAsync(tenant, app, source, openId, unionId, profile, null, cancellationToken);

    /// <summary>As the overload without it, committing <paramref name="attachment"/> (a login's session) with the observation.</summary>
    public async Task<ObserveResult> RecordAppUserAsync(HubTenant tenant, AppOptions app, string source, OpenId openId, UnionId? unionId,
        IEnumerable<ProfileAttribute>? profile, ObservationAttachment? attachment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        return await writer.RecordAsync(tenant, source,
            [WeChatIdentifiers.OpenId(app.AppId, openId), WeChatIdentifiers.UnionId(app, unionId)], profile, attachment, cancellationToken).ConfigureAwait(false);
    }
}
