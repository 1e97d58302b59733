using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Storage.Relationships;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// Relationships on every store (docs/model.md §3.10): state with time, order-independent and retry-safe, counted in
/// the graph's current persons. SQLite, PostgreSQL and Citus run it unchanged.
/// </summary>
public abstract class RelationshipStoreContract : IAsyncLifetime
{
    private const string Oa1 = "wx00000000000000b1";
    private const string Oa2 = "wx00000000000000b2";
    private const string Corp = "ww00000000000000c1";
    // Noon of the last day counted: the per-day window ends on this day.
    private static readonly DateTimeOffset Today = new(2024, 6, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset T0 = Today.AddDays(-5);

    private StoreDatabase _db = null!;
    private SqlGraphStore _graph = null!;
    private SqlRelationshipStore _store = null!;

    protected abstract Task<string> NewDatabaseAsync();

    protected virtual string? Tenant => null;

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    public async Task InitializeAsync()
    {
        var location = await NewDatabaseAsync();
        _graph = await SqlGraphStore.OpenAsync(location, CancellationToken.None, Tenant);
        _db = StoreDatabase.Open(location, Tenant);
        _store = await SqlRelationshipStore.OpenAsync(_db, new FixedClock(Today), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _graph.DisposeAsync();
        await _db.DisposeAsync();
    }

    private static Identifier OpenId(string app, string who) => Identifier.Parse($"openid:{app}:o{who.PadRight(27, 'x')}");
    private static Identifier UnionId(string who) => Identifier.Parse($"unionid:acme:o{who.PadRight(27, 'u')}");
    private static Identifier External(string who) => Identifier.Parse($"external_userid:{Corp}:wm{who.PadRight(30, 'e')}");

    private Task<ObserveResult> Observe(params Identifier[] ids) => _graph.ObserveAsync(new Observation(ids, "test", T0), CancellationToken.None);

    private Task Follow(Identifier openId, bool following, DateTimeOffset at, string? scene = null) =>
        _store.RecordFollowsAsync([new FollowChange(openId, following, at, scene, following ? at : null)], CancellationToken.None);

    private async Task<FollowRelationship> FollowOf(Identifier openId) =>
        (await _store.GetAsync([openId], CancellationToken.None)).Follows.Should().ContainSingle().Subject;

    [StoreFact]
    public async Task An_older_follow_event_never_overwrites_a_newer_state_and_retries_change_nothing()
    {
        var o = OpenId(Oa1, "ooo");
        // Processed out of order: the unfollow of T0+2h arrives before the follow of T0+1h.
        await Follow(o, false, T0.AddHours(2));
        await Follow(o, true, T0.AddHours(1), "poster-a");
        var state = await FollowOf(o);
        state.Following.Should().BeFalse("the older follow does not undo the newer unfollow");
        state.Since.Should().Be(T0.AddHours(2));

        await Follow(o, true, T0.AddHours(3));
        await Follow(o, false, T0.AddHours(2)); // WeChat's retry of the old unfollow
        state = await FollowOf(o);
        state.Following.Should().BeTrue();
        state.Since.Should().Be(T0.AddHours(3));
        state.FollowedAt.Should().Be(T0.AddHours(3));
        state.UnfollowedAt.Should().Be(T0.AddHours(2));

        (await _store.RecordFollowsAsync([new FollowChange(o, true, T0.AddHours(3))], CancellationToken.None)).Should().Be(0, "the same state at the same time is a retry");
        // In one second with no order of arrival (taken in at the same instant): the unfollow wins whichever is processed first.
        var p = OpenId(Oa2, "ppp");
        await Follow(p, false, T0.AddHours(1));
        await Follow(p, true, T0.AddHours(1));
        (await FollowOf(p)).Following.Should().BeFalse();
        var q = OpenId(Oa2, "qqq");
        await Follow(q, true, T0.AddHours(1));
        await Follow(q, false, T0.AddHours(1));
        (await FollowOf(q)).Following.Should().BeFalse();

        // Still following, seen later (a SCAN or a backfill): the follow keeps its start.
        await Follow(o, true, T0.AddHours(5));
        (await FollowOf(o)).Since.Should().Be(T0.AddHours(3));
    }

    private Task Push(Identifier openId, bool following, DateTimeOffset at, DateTimeOffset receivedAt, long sequence) =>
        _store.RecordFollowsAsync([new FollowChange(openId, following, at, null, following ? at : null, new EvidenceArrival(receivedAt, sequence))], CancellationToken.None);

    [StoreFact]
    public async Task A_follow_and_an_unfollow_in_one_second_end_as_the_later_arriving_one_says_whatever_the_processing_order()
    {
        // CreateTime 15:00:00 for both; the hub took them in 200 ms apart (and, within one millisecond, by inbox order).
        var second = T0.AddHours(3);
        var refollowed = OpenId(Oa1, "refollow");
        await Push(refollowed, true, second, second.AddMilliseconds(300), 8);
        await Push(refollowed, false, second, second.AddMilliseconds(100), 7);
        (await FollowOf(refollowed)).Following.Should().BeTrue("the follow arrived after the unfollow");

        var left = OpenId(Oa1, "left");
        await Push(left, false, second, second.AddMilliseconds(300), 8);
        await Push(left, true, second, second.AddMilliseconds(100), 7);
        (await FollowOf(left)).Following.Should().BeFalse("the unfollow arrived after the follow");
        await Push(left, true, second, second.AddMilliseconds(100), 7); // processed again after a crash: still the earlier arrival
        (await FollowOf(left)).Following.Should().BeFalse();

        var sameMs = OpenId(Oa1, "samems");
        await Push(sameMs, false, second, second.AddMilliseconds(5), 12);
        await Push(sameMs, true, second, second.AddMilliseconds(5), 13);
        (await FollowOf(sameMs)).Following.Should().BeTrue("in one millisecond the inbox's order decides");

        // A newer second still beats any arrival: a retried old push that arrives late changes nothing.
        await Push(refollowed, false, second.AddSeconds(-1), second.AddSeconds(9), 20);
        (await FollowOf(refollowed)).Following.Should().BeTrue();
    }

    /// <summary>
    /// Followers per day over every follow period, against a world counted by hand (days 0–5 end at midnight UTC):
    ///   erin  OA1: follows day 0, leaves day 1, comes back day 3; on day 4 an unfollow and a follow of one second, the
    ///              follow arriving later → days 0, 3, 4, 5.  OA2: follows and leaves on day 2 → no day.
    ///   frank OA2: a backfill read on day 4 says "following since day 1"; pushes say he left on day 2 and came back
    ///              on day 3 → days 1, 3, 4, 5. Processed backfill first, pushes after, out of order.
    ///   gina  OA1 days 0–1 (left on day 2), OA2 from day 1, two openids of one person → in all days 0–5, once a day.
    /// </summary>
    [StoreFact]
    public async Task Followers_per_day_count_every_follow_period_in_all_and_per_OA()
    {
        DateTimeOffset Day(int d, int hour) => T0.Date.AddDays(d).AddHours(hour) is var t ? new DateTimeOffset(t, TimeSpan.Zero) : default;
        var erin1 = OpenId(Oa1, "erin");
        var erin2 = OpenId(Oa2, "erin");
        var frank = OpenId(Oa2, "frank");
        var gina1 = OpenId(Oa1, "gina");
        var gina2 = OpenId(Oa2, "gina");
        await Observe(erin1, UnionId("erin"));
        await Observe(erin2, UnionId("erin"));
        await Observe(frank);
        await Observe(gina1, UnionId("gina"));
        await Observe(gina2, UnionId("gina"));

        // erin's pushes processed newest first.
        await Push(erin1, true, Day(4, 15), Day(4, 15).AddMilliseconds(300), 11);
        await Push(erin1, false, Day(4, 15), Day(4, 15).AddMilliseconds(100), 10);
        await Push(erin1, true, Day(3, 9), Day(3, 9), 9);
        await Push(erin1, false, Day(1, 20), Day(1, 20), 8);
        await Push(erin1, true, Day(0, 8), Day(0, 8), 7);
        await Push(erin2, false, Day(2, 18), Day(2, 18), 6);
        await Push(erin2, true, Day(2, 9), Day(2, 9), 5);

        await _store.RecordFollowsAsync([new FollowChange(frank, true, Day(4, 10), null, Day(1, 7), new EvidenceArrival(Day(4, 10)))], CancellationToken.None);
        await Push(frank, true, Day(3, 11), Day(3, 11), 4);
        await Push(frank, false, Day(2, 13), Day(2, 13), 3);

        await Push(gina1, true, Day(0, 10), Day(0, 10), 1);
        await Push(gina2, true, Day(1, 10), Day(1, 10), 2);
        await Push(gina1, false, Day(2, 10), Day(2, 10), 12);

        (await FollowOf(erin1)).Following.Should().BeTrue();
        (await FollowOf(frank)).Following.Should().BeTrue();
        var stats = await _store.GetStatsAsync(6, CancellationToken.None);
        stats.FollowersPerDay.Select(d => d.Day).Should().Equal(Enumerable.Range(0, 6).Select(d => DateOnly.FromDateTime(T0.UtcDateTime).AddDays(d)));
        stats.FollowersPerDay.Select(d => d.Followers).Should().Equal(2, 2, 1, 3, 3, 3);
        stats.FollowersPerDay.Select(d => d.PerApp.GetValueOrDefault(Oa1)).Should().Equal(2, 1, 0, 1, 1, 1);
        stats.FollowersPerDay.Select(d => d.PerApp.GetValueOrDefault(Oa2)).Should().Equal(0, 2, 1, 2, 2, 2);
        stats.FollowersPerDay[2].PerApp.Should().NotContainKey(Oa1, "an OA with no follower that day is left out");
        stats.Followers.Should().Be(3);
        stats.FollowersPerApp.Should().Equal(new Dictionary<string, long> { [Oa1] = 1, [Oa2] = 2 });
    }

    [StoreFact]
    public async Task A_contact_removed_before_its_add_was_processed_stays_removed_and_a_later_add_restores_it()
    {
        var e = External("eee");
        await _store.RecordContactsAsync([new ContactChange(e, "zhangsan", false, T0.AddHours(2), RemovedBy: "customer")], CancellationToken.None);
        await _store.RecordContactsAsync([new ContactChange(e, "zhangsan", true, T0.AddHours(1), "fair-2024")], CancellationToken.None);
        var contact = (await _store.GetAsync([e], CancellationToken.None)).Contacts.Should().ContainSingle().Subject;
        contact.Active.Should().BeFalse();
        contact.RemovedBy.Should().Be("customer");
        contact.RemovedAt.Should().Be(T0.AddHours(2));
        contact.Corp.Should().Be(Corp);

        await _store.RecordContactsAsync([new ContactChange(e, "zhangsan", true, T0.AddHours(4), "shop-qr", AddedAt: T0.AddHours(4))], CancellationToken.None);
        await _store.RecordContactsAsync([new ContactChange(e, "lisi", true, T0.AddHours(4), null)], CancellationToken.None);
        var contacts = (await _store.GetAsync([e], CancellationToken.None)).Contacts;
        contacts.Select(c => (c.Member, c.Active, c.State, c.RemovedAt)).Should().Equal(("lisi", true, null, null), ("zhangsan", true, "shop-qr", null));
    }

    /// <summary>
    /// A small world counted by hand:
    ///   alice: unionid; follows OA1 (poster-a) and OA2; a contact of zhangsan (state fair) → follower of both, contact
    ///   bob:   follows OA1 (poster-a), then unfollows → not a follower; never a contact
    ///   carol: two openids of OA1 on two persons, both following; then merged by her unionid → one follower
    ///   dave:  contact of lisi through "fair", then deleted by the member → became a contact, not one now
    ///   an unfollow from an openid nobody holds → counts for nothing
    /// </summary>
    [StoreFact]
    public async Task Counts_are_distinct_current_persons_and_match_a_hand_computed_world()
    {
        var alice1 = OpenId(Oa1, "alice");
        var alice2 = OpenId(Oa2, "alice");
        await Observe(alice1, UnionId("alice"));
        await Observe(alice2, UnionId("alice"));
        await Observe(External("alice"), UnionId("alice"));
        await Follow(alice1, true, T0, "poster-a");
        await Follow(alice2, true, T0.AddDays(1));
        await _store.RecordContactsAsync([new ContactChange(External("alice"), "zhangsan", true, T0.AddDays(2), "fair")], CancellationToken.None);
        await _store.RecordChannelsAsync([new ChannelTouch(External("alice"), ChannelKinds.ContactWay, Corp, "fair", T0.AddDays(2))], CancellationToken.None);
        await _store.RecordChannelsAsync([new ChannelTouch(alice1, ChannelKinds.QrScene, Oa1, "poster-a", T0)], CancellationToken.None);

        var bob = OpenId(Oa1, "bob");
        await Observe(bob);
        await Follow(bob, true, T0.AddDays(1), "poster-a");
        await _store.RecordChannelsAsync([new ChannelTouch(bob, ChannelKinds.QrScene, Oa1, "poster-a", T0.AddDays(1))], CancellationToken.None);
        await Follow(bob, false, T0.AddDays(3));

        var carolA = OpenId(Oa1, "carolA");
        var carolB = OpenId(Oa2, "carolB");
        await Observe(carolA);
        await Observe(carolB);
        await Follow(carolA, true, T0.AddDays(2));
        await Follow(carolB, true, T0.AddDays(2));
        (await _store.GetStatsAsync(0, CancellationToken.None)).Followers.Should().Be(3, "alice, and carol's two persons before the merge");
        await Observe(carolA, UnionId("carol"));
        await Observe(carolB, UnionId("carol"));

        await Observe(External("dave"));
        await _store.RecordContactsAsync([new ContactChange(External("dave"), "lisi", true, T0.AddDays(1), "fair")], CancellationToken.None);
        await _store.RecordChannelsAsync([new ChannelTouch(External("dave"), ChannelKinds.ContactWay, Corp, "fair", T0.AddDays(1))], CancellationToken.None);
        await _store.RecordContactsAsync([new ContactChange(External("dave"), "lisi", false, T0.AddDays(4), RemovedBy: "member")], CancellationToken.None);

        await Follow(OpenId(Oa1, "nobody"), false, T0.AddDays(1));

        var stats = await _store.GetStatsAsync(6, CancellationToken.None);
        stats.Followers.Should().Be(2, "alice and carol, each once, though alice follows two OAs and carol was two persons");
        stats.FollowersPerApp.Should().Equal(new Dictionary<string, long> { [Oa1] = 2, [Oa2] = 2 });
        stats.Contacts.Should().Be(1, "alice; dave was deleted");
        stats.ContactsPerCorp.Should().Equal(new Dictionary<string, long> { [Corp] = 1 });
        stats.Channels.Select(c => (c.Kind, c.Owner, c.Channel, c.Persons, c.BecameContacts, c.ContactsNow)).Should().Equal(
            (ChannelKinds.ContactWay, Corp, "fair", 2L, 2L, 1L),
            (ChannelKinds.QrScene, Oa1, "poster-a", 2L, 1L, 1L));
        // End of each day from T0 (day 0) to today (day 5): alice from day 0; bob days 1–2; carol from day 2.
        stats.FollowersPerDay.Select(d => d.Followers).Should().Equal(1, 2, 3, 2, 2, 2);
        stats.FollowersPerDay.Select(d => d.PerApp.GetValueOrDefault(Oa1)).Should().Equal(new long[] { 1, 2, 3, 2, 2, 2 }, "alice, bob days 1–2, carol's OA1 openid from day 2");
        stats.FollowersPerDay.Select(d => d.PerApp.GetValueOrDefault(Oa2)).Should().Equal(new long[] { 0, 1, 2, 2, 2, 2 }, "alice from day 1, carol's OA2 openid from day 2");
        stats.FollowersPerDay[0].Day.Should().Be(DateOnly.FromDateTime(T0.UtcDateTime));
        stats.FollowersPerDay[^1].Day.Should().Be(DateOnly.FromDateTime(Today.UtcDateTime));
    }

    [StoreFact]
    public async Task A_persons_relationships_are_those_of_the_identifiers_it_holds_now()
    {
        var a = OpenId(Oa1, "split");
        await Observe(a);
        await Follow(a, true, T0, "poster-b");
        var person = (await _graph.FindAsync(a, CancellationToken.None))!;
        var relationships = await _store.GetAsync(person.Identifiers, CancellationToken.None);
        relationships.Follows.Should().ContainSingle().Which.Scene.Should().Be("poster-b");
        relationships.Contacts.Should().BeEmpty();
        (await _store.GetAsync([UnionId("none")], CancellationToken.None)).Should().Be(PersonRelationships.None);
    }
}

public sealed class SqliteRelationshipStoreTests : RelationshipStoreContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File("relationships.db"));

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public async Task A_database_from_before_the_follow_history_keeps_its_latest_periods_in_the_per_day_counts()
    {
        var location = _folder.File("before-history.db");
        var day0 = new DateTimeOffset(2024, 6, 5, 0, 0, 0, TimeSpan.Zero);
        var openId = Identifier.Parse($"openid:wx00000000000000b1:o{"old".PadRight(27, 'x')}");
        await using (var graph = await SqlGraphStore.OpenAsync(location, CancellationToken.None))
        {
            await graph.ObserveAsync(new Observation([openId], "test", day0), CancellationToken.None);
        }
        await using var db = StoreDatabase.Open(location);
        await db.MigrateAsync(SqlRelationshipStore.Migrations.Take(1), CancellationToken.None);
        // As the first release stored it: followed on day 1 at 10:00, unfollowed on day 3 at 10:00.
        await db.WriteAsync(async (c, tx) =>
        {
            await using var insert = c.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = $"""
                INSERT INTO rel_follows(identifier, appid, following, state_at, since, followed_at, unfollowed_at, scene)
                VALUES ('{openId}', 'wx00000000000000b1', 0, {day0.AddDays(3).AddHours(10).ToUnixTimeMilliseconds()}, {day0.AddDays(3).AddHours(10).ToUnixTimeMilliseconds()},
                        {day0.AddDays(1).AddHours(10).ToUnixTimeMilliseconds()}, {day0.AddDays(3).AddHours(10).ToUnixTimeMilliseconds()}, NULL)
                """;
            return await insert.ExecuteNonQueryAsync();
        }, CancellationToken.None);
        var store = await SqlRelationshipStore.OpenAsync(db, new FixedClock(day0.AddDays(4).AddHours(12)), CancellationToken.None);
        (await store.GetStatsAsync(5, CancellationToken.None)).FollowersPerDay.Select(d => d.Followers).Should().Equal(0, 1, 1, 0, 0);
        // And the history goes on from there: back on day 4.
        await store.RecordFollowsAsync([new FollowChange(openId, true, day0.AddDays(4).AddHours(9), Since: day0.AddDays(4).AddHours(9))], CancellationToken.None);
        (await store.GetStatsAsync(5, CancellationToken.None)).FollowersPerDay.Select(d => d.Followers).Should().Equal(0, 1, 1, 0, 1);
    }

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresRelationshipStoreTests(PostgresFixture postgres) : RelationshipStoreContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}

[RequiresCitus]
[Collection(CitusCollection.Name)]
public sealed class CitusRelationshipStoreTests(CitusFixture citus) : RelationshipStoreContract
{
    protected override Task<string> NewDatabaseAsync() => Task.FromResult(citus.Cluster.ConnectionString);

    protected override string? Tenant { get; } = "r" + Guid.NewGuid().ToString("N")[..12];
}
