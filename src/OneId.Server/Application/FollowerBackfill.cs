using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Ids;

namespace OneId.Server.Application;

/// <param name="Followers">Follower openids read from user/get in this run.</param>
/// <param name="WithUnionId">Of those, how many came back from batchget with a unionid.</param>
/// <param name="NewPersons">Persons created (followers the hub had never seen).</param>
/// <param name="Changed">Observations that linked or merged something.</param>
/// <param name="ResumedAfter">The checkpoint this run continued from, or null for a fresh run.</param>
public sealed record BackfillResult(int Followers, [property: System.Text.Json.Serialization.JsonPropertyName("with_unionid")] int WithUnionId, int NewPersons, int Changed, int Conflicts, string? ResumedAfter);

/// <summary>A step of a backfill: a batch done (<paramref name="Batch"/>), or the end of a user/get page (null).</summary>
/// <param name="TotalFollowers">The OA's follower count, as user/get reports it.</param>
public sealed record BackfillStep(BackfillBatch? Batch, int TotalFollowers);

/// <summary>What one batch of a backfill did.</summary>
public sealed record BackfillBatch(int Followers, int WithUnionId, int NewPersons, int Merges, int Changed, int Conflicts);

/// <summary>
/// S12: a company that kept only openids fetches the unionids of every follower — <c>user/get</c> pages of 10,000, then
/// <c>user/info/batchget</c> by 100 — and the graph merges what belongs together. A checkpoint after every batch lets a
/// run stopped by a quota (45009) or a crash resume where it stopped.
/// </summary>
public sealed partial class FollowerBackfill(OfficialAccountClient oa, GraphWriter writer, RelationshipRecorder relationships, ILogger<FollowerBackfill> logger)
{
    public static string CheckpointName(AppOptions app) => $"backfill:{app?.AppId}";

    /// <summary>Runs to the end (or to the first WeChat failure, which leaves the checkpoint for the next run).</summary>
    public async Task<BackfillResult> RunAsync(HubTenant tenant, AppOptions app, CancellationToken cancellationToken, Func<BackfillStep, CancellationToken, Task>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(app);
        var checkpoint = CheckpointName(app);
        var resumedAfter = await tenant.Checkpoints.GetCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        var token = HubWeChat.TokenFor(app);
        var next = resumedAfter;
        int followers = 0, withUnion = 0, created = 0, changed = 0, conflicts = 0;
        while (true)
        {
            var page = await oa.GetFollowersAsync(token, next, cancellationToken).ConfigureAwait(false);
            foreach (var chunk in page.OpenIds.Chunk(OfficialAccountClient.MaxBatchSize))
            {
                var batch = await BatchAsync(tenant, app, chunk, cancellationToken).ConfigureAwait(false);
                followers += batch.Followers;
                withUnion += batch.WithUnionId;
                created += batch.NewPersons;
                changed += batch.Changed;
                conflicts += batch.Conflicts;
                // user/get's next_openid means "after this openid", so the last openid done is a complete checkpoint.
                await tenant.Checkpoints.SaveCheckpointAsync(checkpoint, chunk[^1].Value, cancellationToken).ConfigureAwait(false);
                if (progress is not null)
                {
                    await progress(new BackfillStep(batch, page.Total), cancellationToken).ConfigureAwait(false);
                }
            }
            if (progress is not null)
            {
                await progress(new BackfillStep(null, page.Total), cancellationToken).ConfigureAwait(false);
            }
            LogPage(logger, app.AppId, followers, page.Total);
            // The doc does not pin what follows the last page: an empty page, or an empty or repeated next_openid.
            if (page.Count == 0 || page.OpenIds.Count == 0 || string.IsNullOrEmpty(page.NextOpenId) || page.NextOpenId == next)
            {
                break;
            }
            next = page.NextOpenId;
        }
        await tenant.Checkpoints.DeleteCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false);
        return new BackfillResult(followers, withUnion, created, changed, conflicts, resumedAfter);
    }

    /// <summary>One batch of up to 100 followers: batchget, then one graph write for all of them.</summary>
    private async Task<BackfillBatch> BatchAsync(HubTenant tenant, AppOptions app, IReadOnlyCollection<OpenId> openIds, CancellationToken ct)
    {
        // The list is as WeChat held it at some moment of this call: a push taken in after the call began may be
        // newer, so the read counts as arriving when the call began.
        var readAt = relationships.Now;
        var users = await oa.BatchGetUserInfoAsync(HubWeChat.TokenFor(app), openIds, cancellationToken: ct).ConfigureAwait(false);
        var observations = users.Users
            .Where(u => u.OpenId.Value is not null)
            .Select(u => new Observation(
                new[] { WeChatIdentifiers.OpenId(app.AppId, u.OpenId), WeChatIdentifiers.UnionId(app, u.UnionId) }.Where(i => i is not null).Select(i => i!.Value),
                $"oa.backfill:{app.AppId}", writer.Now))
            .ToArray();
        var results = await writer.RecordPageAsync(tenant, observations, ct).ConfigureAwait(false);
        // S14: user/get lists who follows now, so each answer is a follow state as of this read, since subscribe_time,
        // with the QR scene that brought them. A newer unfollow push already stored is not overwritten.
        var follows = users.Users.Where(u => u.OpenId.Value is not null)
            .Select(u => new FollowChange(WeChatIdentifiers.OpenId(app.AppId, u.OpenId), u.Subscribe, readAt,
                u.Subscribe ? RelationshipRecorder.SceneOf(u) : null,
                u.Subscribe && u.SubscribeTime is long t and > 0 ? DateTimeOffset.FromUnixTimeSeconds(t) : null, new EvidenceArrival(readAt)))
            .ToArray();
        await relationships.RecordFollowsAsync(tenant, follows, ct).ConfigureAwait(false);
        return new BackfillBatch(openIds.Count, users.Users.Count(u => u.UnionId is not null), results.Count(r => r.NewPerson),
            results.Count(r => r.Events.Any(e => e.Kind == GraphEventKind.Merged)),
            results.Count(r => r.Events.Any(e => e.Kind is GraphEventKind.Linked or GraphEventKind.Merged)),
            results.Count(r => r.Outcome == ObserveOutcome.Rejected));
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Backfill {AppId}: {Done} of {Total} followers")]
    private static partial void LogPage(ILogger logger, string appId, int done, int total);
}
