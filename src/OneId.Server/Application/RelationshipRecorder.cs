using System.Globalization;
using OneId.Graph;
using OneId.Server.Tenants;
using OneId.WeChat.Crypto;
using OneId.WeChat.Models;

namespace OneId.Server.Application;

/// <summary>
/// Turns what WeChat says about follows and WeCom contacts into relationship changes (docs/model.md §3.10) and stores
/// them beside the graph. Relationships never go through the graph rules: an unfollow or a deletion from someone the
/// hub never saw creates no person, and nothing here merges anyone.
/// </summary>
public sealed class RelationshipRecorder(TimeProvider time)
{
    /// <summary>When a push happened: its CreateTime (Unix seconds; provider suites send TimeStamp), else now.</summary>
    public DateTimeOffset PushTime(WeChatXmlMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return long.TryParse(message["CreateTime"] ?? message["TimeStamp"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : time.GetUtcNow();
    }

    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>
    /// The QR scene of an OA follow event (docs/wechat-api.md §7.3): a subscribe through a parametric QR code carries
    /// EventKey <c>qrscene_X</c>, a SCAN by someone already following carries the bare <c>X</c>. Other subscribes carry
    /// no EventKey (or an empty one).
    /// </summary>
    public static string? SceneOf(WeChatXmlMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var key = message["EventKey"];
        if (string.IsNullOrWhiteSpace(key))
        {
            return null;
        }
        return message["Event"] == "SCAN" ? key : key.StartsWith("qrscene_", StringComparison.Ordinal) && key.Length > 8 ? key[8..] : null;
    }

    /// <summary>The QR scene user/info reports for a follower (qr_scene_str, else a non-zero qr_scene), or null (§2.1).</summary>
    public static string? SceneOf(OfficialAccountUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return user.QrSceneStr is { Length: > 0 } s ? s : user.QrScene is long n && n != 0 ? n.ToString(CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Follow states (and the QR scenes that came with them) of one OA, in one write each.</summary>
    public async Task RecordFollowsAsync(HubTenant tenant, IReadOnlyList<FollowChange> changes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(changes);
        await tenant.Relationships.RecordFollowsAsync(changes, ct).ConfigureAwait(false);
        var touches = changes.Where(c => c.Scene is not null).Select(c => new ChannelTouch(c.OpenId, ChannelKinds.QrScene, c.AppId, c.Scene!, c.Since ?? c.At)).ToArray();
        if (touches.Length > 0)
        {
            await tenant.Relationships.RecordChannelsAsync(touches, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A QR scene seen on a SCAN: a channel touch, not a new follow (the person followed already).</summary>
    public Task RecordScanAsync(HubTenant tenant, Identifier openId, string scene, DateTimeOffset at, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return tenant.Relationships.RecordChannelsAsync([new ChannelTouch(openId, ChannelKinds.QrScene, openId.Namespace, scene, at)], ct);
    }

    /// <summary>Contact changes of one corp (and the contact-way states of the adds).</summary>
    public async Task RecordContactsAsync(HubTenant tenant, IReadOnlyList<ContactChange> changes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(changes);
        await tenant.Relationships.RecordContactsAsync(changes, ct).ConfigureAwait(false);
        var touches = changes.Where(c => c.Active && !string.IsNullOrEmpty(c.State))
            .Select(c => new ChannelTouch(c.ExternalUserId, ChannelKinds.ContactWay, c.Corp, c.State!, c.AddedAt ?? c.At)).ToArray();
        if (touches.Length > 0)
        {
            await tenant.Relationships.RecordChannelsAsync(touches, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A <c>person.identifier_replaced</c> event: the old identifier's relationships move to its successor, so an OA
    /// account migration's followers count for the new OA and an upgraded customer's contacts are the new id's
    /// (docs/model.md §3.10). The successor may itself be replaced by now (a chain whose later link arrived first): the
    /// rows go to the end of the chain, as the person holds it. Moving again changes nothing, so a replayed event is harmless.
    /// </summary>
    public async Task FollowReplacementAsync(HubTenant tenant, GraphEvent replaced, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(replaced);
        if (replaced.Kind != GraphEventKind.IdentifierReplaced || replaced.Identifiers.Count != 2)
        {
            return;
        }
        var (old, successor) = (replaced.Identifiers[0], replaced.Identifiers[1]);
        if (replaced.Person is { } id && await tenant.Graph.GetAsync(id, ct).ConfigureAwait(false) is { } person)
        {
            // A chain has at most one successor per link; the bound only guards against a cycle the graph never makes.
            for (var hops = 0; hops < 64 && person.ReplacedBy.TryGetValue(successor, out var next); hops++)
            {
                successor = next;
            }
        }
        await tenant.Relationships.MoveAsync([new Replacement(old, successor)], ct).ConfigureAwait(false);
    }
}
