using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.Server.Webhooks;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.Server.Flows;

/// <summary>
/// Where flows meet the graph: builds identifiers in the tenant's namespaces, applies one observation, wakes the
/// webhooks, and runs the WeCom follow-up that a newly learned unionid makes possible (S10).
/// </summary>
public sealed partial class IdentityRecorder(WebhookSignal signal, WeComClient wecom, TimeProvider time, ILogger<IdentityRecorder> logger) : IAsyncDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<GroupCommit<Observation, ObserveResult>>> _writers = new(StringComparer.Ordinal);

    // Concurrent logins of one tenant share transactions (group commit); the tenant's graph applies them in arrival order.
    private GroupCommit<Observation, ObserveResult> Writer(HubTenant tenant) =>
        _writers.GetOrAdd(tenant.Name, _ => new Lazy<GroupCommit<Observation, ObserveResult>>(() =>
            new GroupCommit<Observation, ObserveResult>((batch, ct) => tenant.Graph.ObserveManyAsync(batch, ct)))).Value;

    public async ValueTask DisposeAsync()
    {
        foreach (var writer in _writers.Values.Where(w => w.IsValueCreated))
        {
            await writer.Value.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>pending_id lives 90 days (docs/wechat-api.md §6.6).</summary>
    private static readonly TimeSpan PendingIdLifetime = TimeSpan.FromDays(90);

    public static Identifier OpenIdOf(string appId, string openId) => Identifier.Create(IdentifierType.OpenId, appId, openId);

    /// <summary>The unionid in the app's union space; null when the app is not bound (WeChat then sends none anyway).</summary>
    public static Identifier? UnionIdOf(AppOptions app, string? unionId) =>
        string.IsNullOrEmpty(unionId) || string.IsNullOrEmpty(app.UnionSpace) ? null : Identifier.Create(IdentifierType.UnionId, app.UnionSpace, unionId);

    /// <summary>
    /// Provider (third-party / 代开发) apps see ciphertext ids that differ per provider, so they live in the namespace
    /// corpid/provider and never collide with the corp's plaintext ids (§6.14).
    /// </summary>
    public static string CorpNamespace(CorpOptions corp, CorpAppOptions app) =>
        app.Kind == CorpAppKinds.Provider ? $"{corp.CorpId}/{app.Provider}" : corp.CorpId;

    public async Task<ObserveResult> RecordAsync(HubTenant tenant, string source, IEnumerable<Identifier?> identifiers, IEnumerable<ProfileAttribute>? profile, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var ids = identifiers.Where(i => i is not null).Select(i => i!.Value).ToArray();
        var result = await Writer(tenant).SubmitAsync(new Observation(ids, source, time.GetUtcNow(), profile), cancellationToken).ConfigureAwait(false);
        LogObserved(logger, tenant.Name, source, result.Outcome, result.Person?.ToString());
        if (result.Events.Count > 0)
        {
            signal.Notify();
        }
        return result;
    }

    /// <summary>
    /// S10: a unionid (with the openid it came with) is now known. Each provider app of the tenant's corps converts it
    /// with idconvert/unionid_to_external_userid: a customer gives the provider's ciphertext external_userid (linked
    /// now); anyone else a pending_id (kept 90 days, linked now, closed when the customer arrives).
    /// </summary>
    public async Task ConvertForProvidersAsync(HubTenant tenant, AppOptions app, string openId, string unionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        foreach (var corp in tenant.Options.Corps.Where(c => c.UnionSpace == app.UnionSpace && !string.IsNullOrEmpty(app.UnionSpace)))
        {
            foreach (var corpApp in corp.Apps.Where(a => a.Kind == CorpAppKinds.Provider))
            {
                var ns = CorpNamespace(corp, corpApp);
                try
                {
                    var conversion = await wecom.UnionIdToExternalUserIdAsync(HubWeChat.TokenFor(corp, corpApp),
                        WeChat.Ids.UnionId.Parse(unionId), WeChat.Ids.OpenId.Parse(openId), UnionIdSubjectType.Corp, cancellationToken).ConfigureAwait(false);
                    var union = UnionIdOf(app, unionId);
                    if (conversion.ExternalUserId is { } ext)
                    {
                        await RecordAsync(tenant, $"wecom.idconvert:{corp.CorpId}/{corpApp.Name}",
                            [union, Identifier.Create(IdentifierType.ExternalUserId, ns, ext.Value)], null, cancellationToken).ConfigureAwait(false);
                    }
                    else if (conversion.PendingId is { } pending)
                    {
                        var result = await RecordAsync(tenant, $"wecom.idconvert:{corp.CorpId}/{corpApp.Name}",
                            [union, Identifier.Create(IdentifierType.PendingId, ns, pending.Value)], null, cancellationToken).ConfigureAwait(false);
                        await tenant.Store.AddPendingIdAsync(ns, pending.Value, unionId, result.Person, time.GetUtcNow() + PendingIdLifetime, cancellationToken).ConfigureAwait(false);
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

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "{Tenant}: {Source} → {Outcome} {Person}")]
    private static partial void LogObserved(ILogger logger, string tenant, string source, ObserveOutcome outcome, string? person);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "idconvert for {CorpId}/{App} failed (errcode {ErrCode}): {Message}")]
    private static partial void LogConversionFailed(ILogger logger, string corpId, string app, int errCode, string message);
}
