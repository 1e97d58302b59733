namespace OneId.Graph;

// Relationships (docs/model.md §3.10): facts about a person that are not identifiers. They are attached to the
// identifier they were seen with (the OA openid; the corp's external_userid), never to a person id, so merges, splits
// and replacements need no rewriting: a person's relationships are those of the identifiers it holds now. They never
// go through the graph rules and never merge anyone.

/// <summary>
/// A follow or unfollow of an OA by one openid, seen at <paramref name="At"/> (the push's CreateTime, or when a
/// backfill read the follower list). Applied only when newer than what the store holds: WeChat's retries and pushes
/// processed out of order never put an older state back.
/// </summary>
/// <param name="OpenId">The openid identifier (its namespace is the OA's appid).</param>
/// <param name="Following">Following at <paramref name="At"/>.</param>
/// <param name="Since">When the follow began, when known (user/info's subscribe_time); else <paramref name="At"/>.</param>
/// <param name="Scene">The QR scene of the subscribe that brought them (EventKey <c>qrscene_X</c>, or user/info's qr_scene_str), or null.</param>
/// <param name="Arrival">When the hub received the evidence, which orders changes whose <paramref name="At"/> falls in one
/// second (WeChat's CreateTime counts whole seconds); null: <paramref name="At"/> itself.</param>
public sealed record FollowChange(Identifier OpenId, bool Following, DateTimeOffset At, string? Scene = null, DateTimeOffset? Since = null, EvidenceArrival? Arrival = null)
{
    public string AppId => OpenId.Namespace;
}

/// <summary>
/// When the hub received a piece of evidence: the moment it was taken in (a push's acceptance into the inbox, a
/// backfill's read of the list) and, for pushes, the inbox's sequence number, which orders two pushes taken in within
/// one millisecond. Changes are ordered by their evidence second first, then by arrival (docs/model.md §3.10).
/// </summary>
public readonly record struct EvidenceArrival(DateTimeOffset ReceivedAt, long Sequence = 0);

/// <summary>
/// A WeCom member adding (<paramref name="Active"/>) or losing a customer, seen at <paramref name="At"/>. Applied only
/// when newer than what the store holds for (customer, member).
/// </summary>
/// <param name="ExternalUserId">The customer's external_userid identifier (namespace: the corp, or corp/provider).</param>
/// <param name="Member">The member's userid as the app sees it.</param>
/// <param name="State">The contact way's <c>state</c> (the channel), on adds.</param>
/// <param name="RemovedBy">On removals: <c>member</c> (del_external_contact) or <c>customer</c> (del_follow_user).</param>
/// <param name="AddedAt">When the member added them, when known (follow_info.createtime); else <paramref name="At"/>.</param>
public sealed record ContactChange(Identifier ExternalUserId, string Member, bool Active, DateTimeOffset At, string? State = null, string? RemovedBy = null, DateTimeOffset? AddedAt = null)
{
    public string Corp => ExternalUserId.Namespace;
}

/// <summary>Kinds of channel that bring a person.</summary>
public static class ChannelKinds
{
    /// <summary>A parametric QR code of an OA (a poster): owner = appid, channel = the scene.</summary>
    public const string QrScene = "qr_scene";

    /// <summary>A WeCom "contact me" way or acquisition link: owner = the corp namespace, channel = its state.</summary>
    public const string ContactWay = "contact_way";
}

/// <summary>One openid's follow of one OA, as stored.</summary>
/// <param name="Since">When the current state began (the follow, or the unfollow).</param>
public sealed record FollowRelationship(string AppId, Identifier OpenId, bool Following, DateTimeOffset Since, string? Scene, DateTimeOffset? FollowedAt, DateTimeOffset? UnfollowedAt);

/// <summary>One customer's contact with one member of a corp, as stored.</summary>
public sealed record ContactRelationship(string Corp, Identifier ExternalUserId, string Member, bool Active, DateTimeOffset? AddedAt, DateTimeOffset? RemovedAt, string? RemovedBy, string? State);

/// <summary>A channel an identifier came through, first seen at <paramref name="At"/>.</summary>
public sealed record ChannelTouch(Identifier Identifier, string Kind, string Owner, string Channel, DateTimeOffset At);

public sealed record PersonRelationships(IReadOnlyList<FollowRelationship> Follows, IReadOnlyList<ContactRelationship> Contacts)
{
    public static readonly PersonRelationships None = new([], []);
}

/// <summary>Persons who came through one channel, and how many of them became WeCom contacts.</summary>
/// <param name="BecameContacts">Of <paramref name="Persons"/>, those who were ever added by a member (removed since or not).</param>
/// <param name="ContactsNow">Of <paramref name="Persons"/>, those who are a member's contact now.</param>
public sealed record ChannelCount(string Kind, string Owner, string Channel, long Persons, long BecameContacts, long ContactsNow);

/// <summary>Real followers at the end of a UTC day: distinct persons following at least one OA, and per OA.</summary>
public sealed record DailyFollowers(DateOnly Day, long Followers, IReadOnlyDictionary<string, long> PerApp);

/// <summary>What the relationships say, counted in distinct persons.</summary>
/// <param name="Followers">Distinct persons following at least one of the tenant's OAs now.</param>
/// <param name="FollowersPerApp">Distinct persons following each OA now.</param>
/// <param name="Contacts">Distinct persons who are a member's WeCom contact now (any corp).</param>
public sealed record RelationshipStats(long Followers, IReadOnlyDictionary<string, long> FollowersPerApp, long Contacts,
    IReadOnlyDictionary<string, long> ContactsPerCorp, IReadOnlyList<ChannelCount> Channels, IReadOnlyList<DailyFollowers> FollowersPerDay);

/// <summary>The tenant's relationships, beside its graph in the same store.</summary>
public interface IRelationshipStore
{
    /// <summary>Applies follow changes in one transaction; each only if newer than the stored state. Returns how many changed something.</summary>
    Task<int> RecordFollowsAsync(IReadOnlyList<FollowChange> changes, CancellationToken cancellationToken);

    /// <summary>Applies contact changes in one transaction; each only if newer than the stored state. Returns how many changed something.</summary>
    Task<int> RecordContactsAsync(IReadOnlyList<ContactChange> changes, CancellationToken cancellationToken);

    /// <summary>Remembers the channels identifiers came through (the earliest time of each is kept).</summary>
    Task<int> RecordChannelsAsync(IReadOnlyList<ChannelTouch> touches, CancellationToken cancellationToken);

    /// <summary>The relationships of these identifiers (a person's: pass the identifiers it holds).</summary>
    Task<PersonRelationships> GetAsync(IReadOnlyCollection<Identifier> identifiers, CancellationToken cancellationToken);

    /// <summary>The counts, joined to the graph's current persons; <paramref name="days"/> days of followers per day, ending today (UTC).</summary>
    Task<RelationshipStats> GetStatsAsync(int days, CancellationToken cancellationToken);
}
