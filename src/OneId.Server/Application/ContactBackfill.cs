using System.Text.Json;
using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.WeChat.Clients;
using OneId.WeChat.Ids;

namespace OneId.Server.Application;

/// <summary>What one page of the WeCom existing-customer backfill did.</summary>
/// <param name="Members">Members whose customers were all read with this page (their group ended here).</param>
/// <param name="Contacts">(customer, member) pairs on the page.</param>
public sealed record ContactBackfillPage(int Members, int Contacts, int NewPersons, int Merges, int Conflicts, int TotalMembers);

/// <summary>
/// S17: a corp's existing customers, who were added before the hub listened to WeCom's pushes (and adds made through
/// the API, which fire no push, docs/wechat-api.md §7.5). <c>get_follow_user_list</c> names the members with customer
/// contact; <c>batch/get_by_user</c> then reads their customers, 100 members and 100 customers a call (the most §6.4
/// allows), paged by cursor. Each page is one graph write (the identifiers, through the same writer as every flow)
/// and one relationship write (who is whose contact, since when, through which contact way). A checkpoint after every
/// page — the group's first member and the next cursor — lets a run stopped by a quota (45009), an outage or a kill
/// resume at the page it stopped at.
/// </summary>
public sealed partial class ContactBackfill(WeComClient wecom, GraphWriter writer, RelationshipRecorder relationships, ILogger<ContactBackfill> logger)
{
    /// <summary>The most members and customers one batch/get_by_user call takes (§6.4).</summary>
    public const int MembersPerCall = 100;
    public const int CustomersPerPage = 100;

    public static string CheckpointName(string target) => $"wecom-backfill:{target}";

    private sealed record Checkpoint(string From, string? Cursor);

    /// <summary>Runs to the end (or to the first WeChat failure, which leaves the checkpoint for the next run).</summary>
    public async Task RunAsync(HubTenant tenant, CorpOptions corp, CorpAppOptions app, CancellationToken cancellationToken, Func<ContactBackfillPage, CancellationToken, Task>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(corp);
        ArgumentNullException.ThrowIfNull(app);
        var target = $"{corp.CorpId}/{app.Name}";
        var checkpointName = CheckpointName(target);
        var saved = await tenant.Checkpoints.GetCheckpointAsync(checkpointName, cancellationToken).ConfigureAwait(false);
        var resume = saved is null ? null : JsonSerializer.Deserialize<Checkpoint>(saved);
        var token = HubWeChat.TokenFor(corp, app);
        // Sorted here, so that groups of 100 are the same from run to run whatever order WeCom lists the members in.
        var members = (await wecom.GetFollowUserListAsync(token, cancellationToken).ConfigureAwait(false)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var ns = WeChatIdentifiers.CorpNamespace(corp, app);
        var groups = members.Chunk(MembersPerCall).ToArray();
        for (var g = 0; g < groups.Length; g++)
        {
            var group = groups[g];
            string? cursor = null;
            if (resume is not null)
            {
                // Groups before the checkpoint's are done; a member added since that sorts before it waits for the next run.
                if (string.CompareOrdinal(group[^1], resume.From) < 0)
                {
                    continue;
                }
                cursor = group[0] == resume.From ? resume.Cursor : null;
                resume = null;
            }
            while (true)
            {
                var page = await wecom.BatchGetByUserAsync(token, group, cursor, CustomersPerPage, cancellationToken).ConfigureAwait(false);
                var result = await RecordPageAsync(tenant, corp, app, ns, page.Items ?? [], cancellationToken).ConfigureAwait(false);
                var next = string.IsNullOrEmpty(page.NextCursor) || page.NextCursor == cursor ? null : page.NextCursor;
                // The next page of this group, or the next group from its start.
                var checkpoint = next is not null ? new Checkpoint(group[0], next) : g + 1 < groups.Length ? new Checkpoint(groups[g + 1][0], null) : null;
                if (checkpoint is not null)
                {
                    await tenant.Checkpoints.SaveCheckpointAsync(checkpointName, JsonSerializer.Serialize(checkpoint), cancellationToken).ConfigureAwait(false);
                }
                if (progress is not null)
                {
                    await progress(result with { Members = next is null ? group.Length : 0, TotalMembers = members.Length }, cancellationToken).ConfigureAwait(false);
                }
                if (next is null)
                {
                    break;
                }
                cursor = next;
            }
            LogGroup(logger, target, group[0], group[^1]);
        }
        await tenant.Checkpoints.DeleteCheckpointAsync(checkpointName, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ContactBackfillPage> RecordPageAsync(HubTenant tenant, CorpOptions corp, CorpAppOptions app, string ns,
        IReadOnlyList<WeChat.Models.ExternalContactBatchItem> items, CancellationToken ct)
    {
        var source = $"wecom.backfill:{corp.CorpId}/{app.Name}";
        var now = writer.Now;
        var customers = items.Where(i => i.ExternalContact.ExternalUserId.Value is { Length: > 0 })
            .GroupBy(i => i.ExternalContact.ExternalUserId.Value, StringComparer.Ordinal).Select(g => g.First().ExternalContact).ToArray();
        // A provider app sees ciphertext ids and no unionid (§6.14): the pending_ids the hub was given for these
        // customers, if any, link them to their persons (S10), one call for the page's (at most 100) customers.
        var pending = new Dictionary<string, PendingId>(StringComparer.Ordinal);
        if (app.Kind == CorpAppKinds.Provider && customers.Length > 0)
        {
            var mapping = await wecom.ExternalUserIdToPendingIdAsync(HubWeChat.TokenFor(corp, app), customers.Select(c => c.ExternalUserId).ToArray(), cancellationToken: ct).ConfigureAwait(false);
            foreach (var m in mapping.Result ?? [])
            {
                if (m.PendingId is { } p)
                {
                    pending[m.ExternalUserId.Value] = p;
                }
            }
        }
        var observations = customers.Select(c => new Observation(
            new[]
            {
                WeChatIdentifiers.ExternalUserId(ns, c.ExternalUserId),
                app.Kind == CorpAppKinds.SelfBuilt ? WeChatIdentifiers.UnionId(corp.UnionSpace, c.UnionId) : null,
                pending.TryGetValue(c.ExternalUserId.Value, out var p) ? WeChatIdentifiers.PendingId(ns, p) : null,
            }.Where(i => i is not null).Select(i => i!.Value),
            source, now,
            c.Type == 1 && !string.IsNullOrEmpty(c.Name) ? [ProfilePolicy.Attribute("nickname", c.Name)] : null)).ToArray();
        var results = await writer.RecordPageAsync(tenant, observations, ct).ConfigureAwait(false);
        foreach (var closed in pending)
        {
            await tenant.PendingIds.ClosePendingIdAsync(ns, closed.Value.Value, ct).ConfigureAwait(false);
        }
        // Each item is one (customer, member) pair, as of this read: a contact since createtime, through the contact
        // way whose state follow_info carries.
        var contacts = items.Where(i => i.FollowInfo is { UserId.Length: > 0 } && i.ExternalContact.ExternalUserId.Value is { Length: > 0 })
            .Select(i => new ContactChange(WeChatIdentifiers.ExternalUserId(ns, i.ExternalContact.ExternalUserId), i.FollowInfo!.UserId, true, now,
                string.IsNullOrEmpty(i.FollowInfo.State) ? null : i.FollowInfo.State,
                AddedAt: i.FollowInfo.CreateTime > 0 ? DateTimeOffset.FromUnixTimeSeconds(i.FollowInfo.CreateTime) : null))
            .ToArray();
        await relationships.RecordContactsAsync(tenant, contacts, ct).ConfigureAwait(false);
        return new ContactBackfillPage(0, contacts.Length, results.Count(r => r.NewPerson),
            results.Count(r => r.Events.Any(e => e.Kind == GraphEventKind.Merged)), results.Count(r => r.Outcome == ObserveOutcome.Rejected), 0);
    }

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "WeCom backfill {Target}: members {First} … {Last} done")]
    private static partial void LogGroup(ILogger logger, string target, string first, string last);
}
