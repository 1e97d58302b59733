using System.Text.Json.Serialization;

namespace OneId.Graph;

/// <summary>
/// A person as OneId answers "who is this?": <c>{"id","aliases":[…],"identifiers":["type:ns:value",…],"profile":{…}}</c>,
/// cut to what the caller's tiers allow: identifiers need <see cref="DataTier.Internal"/> (phones
/// <see cref="DataTier.Private"/>), and without <see cref="DataTier.Private"/> there is no profile at all. The CLI and
/// the hub's query API answer with this same document.
/// </summary>
public sealed record PersonDocument(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string> Aliases,
    [property: JsonPropertyName("identifiers")] IReadOnlyList<string> Identifiers,
    [property: JsonPropertyName("profile"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Profile)
{
    /// <summary>
    /// Old identifiers of the person that a migration replaced, each mapped to the identifier that replaced it
    /// (<c>{"openid:wxOLD…:o…":"openid:wxNEW…:o…"}</c>); absent when nothing was replaced or the caller may not see identifiers.
    /// </summary>
    [JsonPropertyName("replaced_by"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? ReplacedBy { get; init; }

    public static PersonDocument From(Person person, IReadOnlySet<DataTier> tiers)
    {
        ArgumentNullException.ThrowIfNull(person);
        ArgumentNullException.ThrowIfNull(tiers);
        var seesPrivate = tiers.Contains(DataTier.Private);
        var replacedBy = person.ReplacedBy.Count > 0 && tiers.Contains(DataTier.Internal)
            ? person.ReplacedBy.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal).ToDictionary(r => r.Key.ToString(), r => r.Value.ToString(), StringComparer.Ordinal)
            : null;
        return new PersonDocument(
            person.Id.ToString(),
            person.Aliases.Count == 0 ? [] : person.Aliases.Select(a => a.ToString()).ToArray(),
            Visible(person.Identifiers, tiers),
            seesPrivate
                ? person.Profile.Where(a => tiers.Contains(a.Tier)).ToDictionary(a => a.Name, a => a.Value, StringComparer.Ordinal)
                : null)
        {
            ReplacedBy = replacedBy,
        };
    }

    // A loop rather than Where/Select: every resolve builds a document, and the iterators were a tenth of what a
    // resolve allocated.
    private static string[] Visible(IReadOnlyList<Identifier> identifiers, IReadOnlySet<DataTier> tiers)
    {
        var count = 0;
        for (var i = 0; i < identifiers.Count; i++)
        {
            count += tiers.Contains(identifiers[i].Tier) ? 1 : 0;
        }
        string[] visible = count == 0 ? [] : new string[count];
        for (int i = 0, n = 0; n < count; i++)
        {
            if (tiers.Contains(identifiers[i].Tier))
            {
                visible[n++] = identifiers[i].ToString();
            }
        }
        return visible;
    }

    /// <summary>
    /// The person's relationships (docs/model.md §3.10): its follows of OAs and its WeCom contacts. They name ids, so
    /// they come only with the internal tier; absent (null) when not read.
    /// </summary>
    [JsonPropertyName("relationships"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RelationshipsDocument? Relationships { get; init; }

    /// <summary>This document with <paramref name="relationships"/>, when <paramref name="tiers"/> include internal.</summary>
    public PersonDocument With(PersonRelationships relationships, IReadOnlySet<DataTier> tiers)
    {
        ArgumentNullException.ThrowIfNull(relationships);
        ArgumentNullException.ThrowIfNull(tiers);
        return tiers.Contains(DataTier.Internal) ? this with { Relationships = RelationshipsDocument.From(relationships) } : this;
    }

    public static readonly IReadOnlySet<DataTier> AllTiers = new HashSet<DataTier> { DataTier.Public, DataTier.Internal, DataTier.Private };
}

/// <summary><c>{"following":bool,"wecom_contact":bool,"follows":[…],"wecom_contacts":[…]}</c>: a person's relationships, with state and time.</summary>
/// <param name="Following">Follows at least one OA now.</param>
/// <param name="WeComContact">Is a WeCom member's contact now (the members are in <paramref name="Contacts"/>).</param>
public sealed record RelationshipsDocument(
    [property: JsonPropertyName("following")] bool Following,
    [property: JsonPropertyName("wecom_contact")] bool WeComContact,
    [property: JsonPropertyName("follows")] IReadOnlyList<RelationshipsDocument.Follow> Follows,
    [property: JsonPropertyName("wecom_contacts")] IReadOnlyList<RelationshipsDocument.Contact> Contacts)
{
    /// <param name="Since">When the current state (following or not) began.</param>
    /// <param name="Scene">The QR scene (poster) of the follow, if it came through one.</param>
    public sealed record Follow(
        [property: JsonPropertyName("appid")] string AppId,
        [property: JsonPropertyName("openid")] string OpenId,
        [property: JsonPropertyName("following")] bool Following,
        [property: JsonPropertyName("since")] DateTimeOffset Since,
        [property: JsonPropertyName("scene")] string? Scene,
        [property: JsonPropertyName("followed_at")] DateTimeOffset? FollowedAt,
        [property: JsonPropertyName("unfollowed_at")] DateTimeOffset? UnfollowedAt);

    /// <param name="RemovedBy"><c>member</c> (the member deleted the customer) or <c>customer</c> (the customer deleted the member).</param>
    /// <param name="State">The contact way's state (the channel) of the add.</param>
    public sealed record Contact(
        [property: JsonPropertyName("corpid")] string CorpId,
        [property: JsonPropertyName("external_userid")] string ExternalUserId,
        [property: JsonPropertyName("member")] string Member,
        [property: JsonPropertyName("active")] bool Active,
        [property: JsonPropertyName("added_at")] DateTimeOffset? AddedAt,
        [property: JsonPropertyName("removed_at")] DateTimeOffset? RemovedAt,
        [property: JsonPropertyName("removed_by")] string? RemovedBy,
        [property: JsonPropertyName("state")] string? State);

    public static RelationshipsDocument From(PersonRelationships r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new RelationshipsDocument(
            r.Follows.Any(f => f.Following),
            r.Contacts.Any(c => c.Active),
            r.Follows.Select(f => new Follow(f.AppId, f.OpenId.ToString(), f.Following, f.Since, f.Scene, f.FollowedAt, f.UnfollowedAt)).ToArray(),
            r.Contacts.Select(c => new Contact(c.Corp, c.ExternalUserId.ToString(), c.Member, c.Active, c.AddedAt, c.RemovedAt, c.RemovedBy, c.State)).ToArray());
    }
}
