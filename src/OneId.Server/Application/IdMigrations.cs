using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Ids;
using OneId.WeChat.Http;

namespace OneId.Server.Application;

/// <summary>What one step of a migration did: WeChat calls made, identifiers replaced, persons merged, conflicts, member ids converted.</summary>
public sealed record MigrationStep(int Calls, int Examined, int Replaced, int Merges, int Conflicts, int Members = 0);

/// <summary>
/// S16: the migrations that issue new identifiers for known persons, as resumable jobs. Each converts what the graph
/// holds in the old namespace, page by page, and records "new replaces old" (docs/model.md §3.9), so the old id keeps
/// resolving and nothing counts as a conflict. A checkpoint after every WeChat call lets a job stopped by a crash or a
/// quota resume where it stopped; converting twice is harmless, since a replacement said again changes nothing.
/// </summary>
public sealed partial class IdMigrations(OfficialAccountClient oa, WeComClient wecom, GraphWriter writer, ILogger<IdMigrations> logger)
{
    /// <summary>How many old identifiers are read from the graph at once (a migration's calls take 100 or 1,000).</summary>
    private const int ReadPage = 5_000;

    /// <summary>get_new_external_userid's batch: at most 1,000 (unconfirmed, docs/wechat-api.md §6.9); 100 stays inside any limit.</summary>
    public const int NewExternalUserIdBatch = 100;

    public static string OaCheckpoint(string fromAppId, string toAppId) => $"migration:changeopenid:{fromAppId}>{toAppId}";

    /// <summary>
    /// userid_to_openuserid's batch: at most 1,000 userids a call (docs/wechat-api.md §6.12; the limit is not confirmed
    /// upstream, the sandbox enforces it).
    /// </summary>
    public const int OpenUserIdBatch = 1_000;

    public static string WeComCheckpoint(string corpNamespace) => $"migration:get_new_external_userid:{corpNamespace}";

    public static string MemberCheckpoint(string corpNamespace) => $"migration:userid_to_openuserid:{corpNamespace}";

    /// <summary>
    /// An OA account migration (账号迁移): every openid the hub holds for <paramref name="fromAppId"/> goes through
    /// cgi-bin/changeopenid, 100 per call, with the new account's token (docs/wechat-api.md §2.4). An openid WeChat
    /// cannot map ("ori_openid error": not a follower at the migration) stays as it is.
    /// </summary>
    public async Task RunOaAccountMigrationAsync(HubTenant tenant, AppOptions newApp, string fromAppId, Func<MigrationStep, CancellationToken, Task> progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(newApp);
        ArgumentNullException.ThrowIfNull(progress);
        var checkpoint = OaCheckpoint(fromAppId, newApp.AppId);
        var source = $"oa.changeopenid:{fromAppId}>{newApp.AppId}";
        var from = AppId.Parse(fromAppId);
        await ConvertNamespaceAsync(tenant, IdentifierType.OpenId, fromAppId, checkpoint, OfficialAccountClient.MaxChangeOpenIdBatch, async (chunk, ct) =>
        {
            var answer = await oa.ChangeOpenIdAsync(HubWeChat.TokenFor(newApp), from, chunk.Select(i => OpenId.Parse(i.Value)).ToArray(), ct).ConfigureAwait(false);
            return (answer.Results ?? []).Where(r => r.Succeeded)
                .Select(r => new Replacement(WeChatIdentifiers.OpenId(fromAppId, OpenId.Parse(r.OriginalOpenId)), WeChatIdentifiers.OpenId(newApp.AppId, OpenId.Parse(r.NewOpenId!))))
                .ToArray();
        }, source, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// WeCom's id upgrade for a provider app (docs/wechat-api.md §6.9–§6.12, §11.6): every old ciphertext external_userid
    /// the hub holds for the app goes through get_new_external_userid; every member userid its contacts name goes
    /// through batch/userid_to_openuserid and is renamed in the relationships; the corp's open_corpid is asked for and
    /// kept (the hub keeps naming the corp by its configured corpid, so identifiers stay in their namespace); then both
    /// migrations are declared finished — the external_userid one, then corpid + userid (finish_openid_migration type
    /// 1: WeCom switches those two only together) — after which WeCom sends only the new ids.
    /// </summary>
    public async Task RunWeComIdUpgradeAsync(HubTenant tenant, CorpOptions corp, CorpAppOptions app, Func<MigrationStep, CancellationToken, Task> progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(corp);
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(progress);
        var ns = WeChatIdentifiers.CorpNamespace(corp, app);
        var token = HubWeChat.TokenFor(corp, app);
        await ConvertNamespaceAsync(tenant, IdentifierType.ExternalUserId, ns, WeComCheckpoint(ns), NewExternalUserIdBatch, async (chunk, ct) =>
        {
            var answer = await wecom.GetNewExternalUserIdAsync(token, chunk.Select(i => ExternalUserId.Parse(i.Value)).ToArray(), ct).ConfigureAwait(false);
            // An id that is new already maps to itself: nothing to replace.
            return (answer.Items ?? []).Where(m => m.NewExternalUserId.Value != m.ExternalUserId.Value)
                .Select(m => new Replacement(WeChatIdentifiers.ExternalUserId(ns, m.ExternalUserId), WeChatIdentifiers.ExternalUserId(ns, m.NewExternalUserId)))
                .ToArray();
        }, $"wecom.upgrade:{corp.CorpId}/{app.Name}", progress, cancellationToken).ConfigureAwait(false);
        await ConvertMembersAsync(tenant, ns, token, progress, cancellationToken).ConfigureAwait(false);

        // The provider-level steps need the provider's own token.
        var providerToken = (await wecom.GetProviderTokenAsync(CorpId.Parse(app.ProviderCorpId!), app.ProviderSecret!, cancellationToken).ConfigureAwait(false)).ProviderAccessToken;
        var corpId = CorpId.Parse(corp.CorpId);
        var open = await wecom.CorpIdToOpenCorpIdAsync(providerToken, corpId, cancellationToken).ConfigureAwait(false);
        await tenant.Checkpoints.SaveCheckpointAsync($"open_corpid:{ns}", open.OpenCorpId.Value, cancellationToken).ConfigureAwait(false);
        // Declared finished only once every stored id was converted: from then on WeCom answers old ids with 40096.
        await wecom.FinishExternalUserIdMigrationAsync(providerToken, corpId, cancellationToken).ConfigureAwait(false);
        // From here the app sees the open corpid and members' open_userids in answers and pushes (the hub routes pushes
        // by the callback URL, not by AuthCorpId, and already names the members by their new ids).
        await wecom.FinishOpenIdMigrationAsync(providerToken, corpId, [FinishOpenIdTypeCorpAndUser], cancellationToken).ConfigureAwait(false);
        await progress(new MigrationStep(4, 0, 0, 0, 0), cancellationToken).ConfigureAwait(false);
        LogUpgraded(logger, tenant.Name, ns, open.OpenCorpId.Value);
    }

    /// <summary>finish_openid_migration's openid_type for corpid together with userid (3 is the external_userid).</summary>
    private const int FinishOpenIdTypeCorpAndUser = 1;

    /// <summary>
    /// Members are not person identifiers (docs/model.md §3.9): they live in the contact relationships by the id the
    /// app saw them with. Each page of members still named by a plain userid goes through batch/userid_to_openuserid
    /// and is renamed in one write; a userid WeCom cannot convert (invalid_userid_list: no longer a member) keeps its
    /// name. The checkpoint moves past each call's last member.
    /// </summary>
    private async Task ConvertMembersAsync(HubTenant tenant, string ns, TokenBinding token, Func<MigrationStep, CancellationToken, Task> progress, CancellationToken ct)
    {
        var checkpoint = MemberCheckpoint(ns);
        var after = await tenant.Checkpoints.GetCheckpointAsync(checkpoint, ct).ConfigureAwait(false);
        while (await tenant.Relationships.ListMembersAsync(ns, after, OpenUserIdBatch, ct).ConfigureAwait(false) is { Count: > 0 } members)
        {
            var answer = await wecom.UserIdToOpenUserIdAsync(token, members, ct).ConfigureAwait(false);
            var renames = (answer.Items ?? []).Where(m => m.UserId != m.OpenUserId).Select(m => (m.UserId, m.OpenUserId)).ToArray();
            await tenant.Relationships.RenameMembersAsync(ns, renames, ct).ConfigureAwait(false);
            after = members[^1];
            await tenant.Checkpoints.SaveCheckpointAsync(checkpoint, after, ct).ConfigureAwait(false);
            await progress(new MigrationStep(1, members.Count, 0, 0, 0, renames.Length), ct).ConfigureAwait(false);
            LogMembers(logger, tenant.Name, ns, renames.Length, answer.InvalidUserIds?.Count ?? 0);
        }
        await tenant.Checkpoints.DeleteCheckpointAsync(checkpoint, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The common walk: the identifiers in effect in <paramref name="ns"/> after the checkpoint, in key order, converted
    /// <paramref name="batch"/> at a time; each call's replacements are recorded in one graph write, then the checkpoint
    /// moves past the call's last id.
    /// </summary>
    private async Task ConvertNamespaceAsync(HubTenant tenant, IdentifierType type, string ns, string checkpoint, int batch,
        Func<Identifier[], CancellationToken, Task<Replacement[]>> convert, string source, Func<MigrationStep, CancellationToken, Task> progress, CancellationToken ct)
    {
        var saved = await tenant.Checkpoints.GetCheckpointAsync(checkpoint, ct).ConfigureAwait(false);
        Identifier? after = saved is null ? null : Identifier.FromStored(saved);
        while (true)
        {
            var page = await tenant.Graph.ListIdentifiersAsync(type, ns, after, ReadPage, ct).ConfigureAwait(false);
            if (page.Count == 0)
            {
                break;
            }
            foreach (var chunk in page.Chunk(batch))
            {
                var replacements = await convert(chunk, ct).ConfigureAwait(false);
                var results = replacements.Length == 0 ? [] : await writer.RecordPageAsync(tenant,
                    replacements.Select(r => new Observation([r.New], source, writer.Now, null, [r])).ToArray(), ct).ConfigureAwait(false);
                after = chunk[^1];
                await tenant.Checkpoints.SaveCheckpointAsync(checkpoint, after.Value.ToString(), ct).ConfigureAwait(false);
                await progress(new MigrationStep(1, chunk.Length,
                    results.Count(r => r.Events.Any(e => e.Kind == GraphEventKind.IdentifierReplaced)),
                    results.Count(r => r.Events.Any(e => e.Kind == GraphEventKind.Merged)),
                    results.Count(r => r.Outcome == ObserveOutcome.Rejected)), ct).ConfigureAwait(false);
            }
            LogPage(logger, tenant.Name, source, after?.ToString() ?? "");
        }
        await tenant.Checkpoints.DeleteCheckpointAsync(checkpoint, ct).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "{Tenant}: {Source} converted through {After}")]
    private static partial void LogPage(ILogger logger, string tenant, string source, string after);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Information, Message = "{Tenant}: {Converted} member ids of {Namespace} converted to open_userid ({Invalid} not convertible)")]
    private static partial void LogMembers(ILogger logger, string tenant, string @namespace, int converted, int invalid);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information, Message = "{Tenant}: id upgrade of {Namespace} finished (open_corpid {OpenCorpId})")]
    private static partial void LogUpgraded(ILogger logger, string tenant, string @namespace, string openCorpId);
}
