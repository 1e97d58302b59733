using System.Text.Json.Serialization;

namespace OneId.Graph;

/// <summary>The JSON shape of stats, shared by <c>oneid stats --json</c> and <c>GET /v1/stats</c>.</summary>
public sealed record StatsDocument(
    [property: JsonPropertyName("persons")] long Persons,
    [property: JsonPropertyName("observations")] long Observations,
    [property: JsonPropertyName("identifiers")] long Identifiers,
    [property: JsonPropertyName("conflicts")] long Conflicts,
    [property: JsonPropertyName("identifiers_by_type")] IReadOnlyDictionary<string, long> IdentifiersByType,
    [property: JsonPropertyName("unionid_coverage")] IReadOnlyList<StatsDocument.Coverage> UnionIdCoverage,
    [property: JsonPropertyName("overlap")] IReadOnlyList<StatsDocument.Overlap> AppOverlap)
{
    /// <summary>
    /// Stored observations by outcome. <c>observations</c> counts those in effect (accepted + weak_only);
    /// <c>conflicts</c> equals <c>rejected</c>.
    /// </summary>
    [JsonPropertyName("observations_by_outcome")]
    public Outcomes ObservationsByOutcome { get; init; } = new(0, 0, 0, 0);

    /// <summary>
    /// Real followers (docs/model.md S14): distinct persons following at least one of the tenant's OAs now, and per OA.
    /// Null when the relationships were not read (then the key is left out).
    /// </summary>
    [JsonPropertyName("followers"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FollowerCounts? Followers { get; init; }

    /// <summary>Distinct persons who are a WeCom member's contact now, in all and per corp.</summary>
    [JsonPropertyName("wecom_contacts"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ContactCounts? WeComContacts { get; init; }

    /// <summary>Persons per channel (QR scene, contact-way state) and how many of them became WeCom contacts.</summary>
    [JsonPropertyName("channels"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Channel>? Channels { get; init; }

    /// <summary>New persons and real followers per UTC day, oldest first.</summary>
    [JsonPropertyName("per_day"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<Day>? PerDay { get; init; }

    public sealed record FollowerCounts(
        [property: JsonPropertyName("total")] long Total,
        [property: JsonPropertyName("per_app")] IReadOnlyDictionary<string, long> PerApp);

    public sealed record ContactCounts(
        [property: JsonPropertyName("total")] long Total,
        [property: JsonPropertyName("per_corp")] IReadOnlyDictionary<string, long> PerCorp);

    /// <param name="Kind"><c>qr_scene</c> (owner: the OA's appid) or <c>contact_way</c> (owner: the corpid).</param>
    /// <param name="BecameContacts">Of <paramref name="Persons"/>, those a member ever added.</param>
    /// <param name="ContactsNow">Of <paramref name="Persons"/>, those who are a member's contact now.</param>
    public sealed record Channel(
        [property: JsonPropertyName("kind")] string Kind,
        [property: JsonPropertyName("owner")] string Owner,
        [property: JsonPropertyName("channel")] string Name,
        [property: JsonPropertyName("persons")] long Persons,
        [property: JsonPropertyName("became_contacts")] long BecameContacts,
        [property: JsonPropertyName("contacts_now")] long ContactsNow);

    /// <param name="Followers">Real followers at the end of the day.</param>
    /// <param name="FollowersPerApp">Real followers of each OA at the end of the day (OAs with none are left out).</param>
    public sealed record Day(
        [property: JsonPropertyName("day")] string Date,
        [property: JsonPropertyName("new_persons")] long NewPersons,
        [property: JsonPropertyName("followers")] long Followers,
        [property: JsonPropertyName("followers_per_app")] IReadOnlyDictionary<string, long> FollowersPerApp);

    /// <summary>Everything <c>oneid stats</c> and <c>GET /v1/stats</c> answer: the graph's counts, the relationships' counts and <paramref name="days"/> days.</summary>
    public static async Task<StatsDocument> ReadAsync(IGraphStore graph, IRelationshipStore relationships, int days, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(relationships);
        var stats = await graph.GetStatsAsync(cancellationToken).ConfigureAwait(false);
        var related = await relationships.GetStatsAsync(days, cancellationToken).ConfigureAwait(false);
        var growth = days > 0
            ? await graph.GetGrowthAsync(new DateTimeOffset(now.UtcDateTime.Date.AddDays(1 - days), TimeSpan.Zero), cancellationToken).ConfigureAwait(false)
            : [];
        return From(stats).With(related, growth);
    }

    /// <summary>Adds the relationship counts and the days (new persons per day from <paramref name="growth"/>).</summary>
    public StatsDocument With(RelationshipStats relationships, IReadOnlyList<DailyCount> growth)
    {
        ArgumentNullException.ThrowIfNull(relationships);
        ArgumentNullException.ThrowIfNull(growth);
        var newPersons = growth.ToDictionary(d => d.Day, d => d.Persons);
        return this with
        {
            Followers = new FollowerCounts(relationships.Followers, relationships.FollowersPerApp),
            WeComContacts = new ContactCounts(relationships.Contacts, relationships.ContactsPerCorp),
            Channels = relationships.Channels.Select(c => new Channel(c.Kind, c.Owner, c.Channel, c.Persons, c.BecameContacts, c.ContactsNow)).ToArray(),
            PerDay = relationships.FollowersPerDay.Select(d => new Day(d.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                newPersons.GetValueOrDefault(d.Day), d.Followers, d.PerApp)).ToArray(),
        };
    }

    public sealed record Outcomes(
        [property: JsonPropertyName("accepted")] long Accepted,
        [property: JsonPropertyName("rejected")] long Rejected,
        [property: JsonPropertyName("weak_only")] long WeakOnly,
        [property: JsonPropertyName("retracted")] long Retracted);

    public sealed record Coverage(
        [property: JsonPropertyName("appid")] string AppId,
        [property: JsonPropertyName("persons")] long Persons,
        [property: JsonPropertyName("with_unionid")] long WithUnionId,
        [property: JsonPropertyName("share")] double Share);

    public sealed record Overlap(
        [property: JsonPropertyName("apps")] IReadOnlyList<string> Apps,
        [property: JsonPropertyName("persons")] long Persons);

    public static StatsDocument From(GraphStats s) => new(
        s.Persons, s.Observations, s.Identifiers, s.Conflicts, s.IdentifiersByType,
        s.UnionIdCoverage.Select(c => new Coverage(c.AppId, c.Persons, c.WithUnionId, Math.Round(c.Share, 4))).ToArray(),
        s.Overlap.Select(o => new Overlap([o.AppA, o.AppB], o.Persons)).ToArray())
    {
        ObservationsByOutcome = new Outcomes(s.ObservationsByOutcome.Accepted, s.ObservationsByOutcome.Rejected,
            s.ObservationsByOutcome.WeakOnly, s.ObservationsByOutcome.Retracted),
    };
}
