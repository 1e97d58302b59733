using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// The behaviour every graph store must have, written once. <see cref="SqliteGraphStoreTests"/> and
/// <see cref="PostgresGraphStoreTests"/> run it unchanged.
/// </summary>
public abstract partial class GraphStoreContract : IAsyncLifetime
{
    protected const string Mp = "wx00000000000000a1";
    protected const string Oa = "wx00000000000000b2";
    protected const string Web = "wx00000000000000c3";
    private static readonly DateTimeOffset T0 = new(2024, 5, 1, 10, 0, 0, TimeSpan.Zero);
    private int _tick;

    protected SqlGraphStore Store { get; private set; } = null!;

    /// <summary>A fresh, empty store location (SQLite file path or PostgreSQL connection string).</summary>
    protected abstract Task<string> NewDatabaseAsync();

    /// <summary>The tenant whose file or schema the test uses (null: the default one).</summary>
    protected virtual string? Tenant => null;

    /// <summary>Where <see cref="Store"/> lives, so that a test can open a second, independent instance of it.</summary>
    protected string Location { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Location = await NewDatabaseAsync();
        Store = await SqlGraphStore.OpenAsync(Location, CancellationToken.None, Tenant);
    }

    public async Task DisposeAsync() => await Store.DisposeAsync();

    protected static Identifier Id(string text) => Identifier.Parse(text);
    protected static string OpenId(string app, string who) => $"openid:{app}:o{who.PadRight(27, 'x')}";
    protected static string UnionId(string who) => $"unionid:acme:o{who.PadRight(27, 'u')}";

    protected Observation Obs(params string[] ids) => new(ids.Select(Id), "test", T0.AddSeconds(_tick++));

    protected Observation ObsWithProfile(string nickname, params string[] ids) =>
        new(ids.Select(Id), "test", T0.AddSeconds(_tick++), [ProfilePolicy.Attribute("nickname", nickname)]);

    protected Task<ObserveResult> Observe(params string[] ids) => Store.ObserveAsync(Obs(ids), CancellationToken.None);

    protected async Task<Person> Resolve(string id) =>
        (await Store.FindAsync(Id(id), CancellationToken.None)) ?? throw new Xunit.Sdk.XunitException($"{id} resolves to nobody");

    [StoreFact]
    public async Task A_new_observation_creates_a_person_holding_all_its_identifiers()
    {
        var result = await Observe(OpenId(Mp, "alice"), UnionId("alice"));

        result.Outcome.Should().Be(ObserveOutcome.Accepted);
        result.NewPerson.Should().BeTrue();
        var person = await Resolve(UnionId("alice"));
        person.Id.Should().Be(result.Person!.Value);
        person.Identifiers.Select(i => i.ToString()).Should().BeEquivalentTo(OpenId(Mp, "alice"), UnionId("alice"));
        (await Resolve(OpenId(Mp, "alice"))).Id.Should().Be(person.Id);
        result.Events.Select(e => e.Kind).Should().Equal(GraphEventKind.Created);
    }

    [StoreFact]
    public async Task Silent_first_openid_person_gains_the_unionid_later_and_keeps_its_id()
    {
        var first = await Observe(OpenId(Oa, "bob"));
        var second = await Observe(OpenId(Oa, "bob"), UnionId("bob"));
        var third = await Observe(OpenId(Mp, "bob"), UnionId("bob"));

        second.Person.Should().Be(first.Person);
        second.NewPerson.Should().BeFalse();
        second.Events.Select(e => e.Kind).Should().Equal(GraphEventKind.Linked);
        third.Person.Should().Be(first.Person);
        (await Resolve(OpenId(Mp, "bob"))).Identifiers.Should().HaveCount(3);
    }

    [StoreFact]
    public async Task Two_persons_merge_when_evidence_joins_them_and_the_older_id_survives_with_the_other_as_alias()
    {
        var older = await Observe(OpenId(Oa, "carol"));
        var younger = await Observe(OpenId(Mp, "carol"), UnionId("carol"));

        var joining = await Observe(OpenId(Oa, "carol"), UnionId("carol"));

        joining.Person.Should().Be(older.Person);
        joining.Events.Should().Contain(e => e.Kind == GraphEventKind.Merged && e.Others.SequenceEqual(new[] { younger.Person!.Value }));
        var person = (await Store.GetAsync(younger.Person!.Value, CancellationToken.None))!;
        person.Id.Should().Be(older.Person!.Value, "an alias resolves to the survivor");
        person.Aliases.Should().Equal(younger.Person!.Value);
        person.Identifiers.Should().HaveCount(3);
        (await Store.GetStatsAsync(CancellationToken.None)).Persons.Should().Be(1);
    }

    [StoreFact]
    public async Task Aliases_of_aliases_still_resolve_after_a_chain_of_merges()
    {
        var p1 = (await Observe(OpenId(Oa, "d1"))).Person!.Value;
        var p2 = (await Observe(OpenId(Mp, "d1"))).Person!.Value;
        var p3 = (await Observe(OpenId(Web, "d1"))).Person!.Value;
        await Observe(OpenId(Mp, "d1"), OpenId(Web, "d1"));
        await Observe(OpenId(Oa, "d1"), OpenId(Web, "d1"));

        foreach (var id in new[] { p1, p2, p3 })
        {
            (await Store.GetAsync(id, CancellationToken.None))!.Id.Should().Be(p1);
        }
        (await Store.GetAsync(p1, CancellationToken.None))!.Aliases.Should().Equal(p2, p3);
    }

    [StoreFact]
    public async Task An_observation_giving_a_person_a_second_openid_in_one_app_is_rejected_whole()
    {
        var alice = await Observe(OpenId(Mp, "alice"), UnionId("alice"));

        var bad = await Observe(OpenId(Mp, "mallory"), UnionId("alice"), OpenId(Oa, "newcomer"));

        bad.Outcome.Should().Be(ObserveOutcome.Rejected);
        bad.Conflicts.Should().ContainSingle().Which.Should().Match<Conflict>(c => c.Type == "openid" && c.Namespace == Mp && c.Persons.Contains(alice.Person!.Value));
        (await Store.FindAsync(Id(OpenId(Oa, "newcomer")), CancellationToken.None)).Should().BeNull("a rejected observation adds nothing");
        (await Store.FindAsync(Id(OpenId(Mp, "mallory")), CancellationToken.None)).Should().BeNull();
        (await Resolve(UnionId("alice"))).Identifiers.Should().HaveCount(2);
        (await Store.GetStatsAsync(CancellationToken.None)).Conflicts.Should().Be(1);
        (await Store.GetHistoryAsync(alice.Person!.Value, CancellationToken.None)).Should().Contain(e => e.Kind == GraphEventKind.Conflict);
    }

    [StoreFact]
    public async Task A_merge_that_would_join_two_openids_of_one_app_is_rejected_and_both_persons_stay()
    {
        var a = await Observe(OpenId(Mp, "erin"), UnionId("erin"));
        var b = await Observe(OpenId(Mp, "frank"), OpenId(Oa, "frank"));

        var bad = await Observe(UnionId("erin"), OpenId(Oa, "frank"));

        bad.Outcome.Should().Be(ObserveOutcome.Rejected);
        bad.Conflicts.Single().Persons.Should().BeEquivalentTo(new[] { a.Person!.Value, b.Person!.Value });
        (await Resolve(OpenId(Oa, "frank"))).Id.Should().Be(b.Person!.Value);
        (await Resolve(UnionId("erin"))).Id.Should().Be(a.Person!.Value);
    }

    [StoreFact]
    public async Task Weak_identifiers_attach_without_merging_and_alone_link_nothing()
    {
        var a = await Observe(OpenId(Mp, "gina"), "phone::+8613800000001");
        var b = await Observe(OpenId(Oa, "hank"), "phone::+8613800000001");
        var phoneOnly = await Observe("phone::+8613800000002");

        b.Person.Should().NotBe(a.Person);
        phoneOnly.Outcome.Should().Be(ObserveOutcome.LinkedNothing);
        (await Store.FindAsync(Id("phone::+8613800000002"), CancellationToken.None)).Should().BeNull();
        var ambiguous = () => Store.FindAsync(Id("phone::+8613800000001"), CancellationToken.None);
        (await ambiguous.Should().ThrowAsync<AmbiguousIdentifierException>()).Which.Persons.Should().HaveCount(2);
        (await Store.GetStatsAsync(CancellationToken.None)).Persons.Should().Be(2);
    }

    [StoreFact]
    public async Task A_phone_both_persons_hold_stays_once_after_they_merge()
    {
        await Observe(OpenId(Mp, "ivy"), "phone::+8613800000003");
        await Observe(OpenId(Oa, "ivy"), "phone::+8613800000003");
        await Observe(OpenId(Mp, "ivy"), OpenId(Oa, "ivy"));

        var person = await Resolve("phone::+8613800000003");
        person.Identifiers.Count(i => i.Type == IdentifierType.Phone).Should().Be(1);
    }

    [StoreFact]
    public async Task Retracting_the_linking_observation_splits_the_person_and_the_oldest_part_keeps_the_id()
    {
        var o1 = await Observe(OpenId(Oa, "jack"));
        var link = await Observe(OpenId(Oa, "jack"), UnionId("jack"));
        await Observe(OpenId(Mp, "jack"), UnionId("jack"));
        var person = o1.Person!.Value;

        var result = await Store.RetractAsync(link.Observation, CancellationToken.None);

        result.Persons.Should().HaveCount(2);
        result.Persons[0].Should().Be(person);
        result.Events.Should().Contain(e => e.Kind == GraphEventKind.Split);
        (await Resolve(OpenId(Oa, "jack"))).Id.Should().Be(person);
        var other = await Resolve(UnionId("jack"));
        other.Id.Should().Be(result.Persons[1]);
        other.Identifiers.Select(i => i.ToString()).Should().BeEquivalentTo(OpenId(Mp, "jack"), UnionId("jack"));
    }

    [StoreFact]
    public async Task Retracting_a_persons_only_observation_leaves_nobody()
    {
        var o = await Observe(OpenId(Oa, "kate"));
        await Store.RetractAsync(o.Observation, CancellationToken.None);

        (await Store.FindAsync(Id(OpenId(Oa, "kate")), CancellationToken.None)).Should().BeNull();
        (await Store.GetAsync(o.Person!.Value, CancellationToken.None)).Should().BeNull();
        (await Store.GetStatsAsync(CancellationToken.None)).Persons.Should().Be(0);
    }

    [StoreFact]
    public async Task Retracting_an_identifier_seen_only_once_removes_it_but_keeps_the_rest()
    {
        var o1 = await Observe(OpenId(Oa, "leo"), UnionId("leo"));
        var o2 = await Observe(OpenId(Oa, "leo"), "phone::+8613800000004");
        await Store.RetractAsync(o2.Observation, CancellationToken.None);

        var person = await Resolve(UnionId("leo"));
        person.Id.Should().Be(o1.Person!.Value);
        person.Identifiers.Should().NotContain(i => i.Type == IdentifierType.Phone);
    }

    [StoreFact]
    public async Task Rejected_observations_stay_rejected_after_the_one_they_clashed_with_is_retracted()
    {
        var good = await Observe(OpenId(Mp, "mia"), UnionId("mia"));
        var bad = await Observe(OpenId(Mp, "other"), UnionId("mia"));
        bad.Outcome.Should().Be(ObserveOutcome.Rejected);

        await Store.RetractAsync(good.Observation, CancellationToken.None);

        (await Store.FindAsync(Id(OpenId(Mp, "other")), CancellationToken.None)).Should().BeNull();
        var retractRejected = () => Store.RetractAsync(bad.Observation, CancellationToken.None);
        await retractRejected.Should().ThrowAsync<InvalidOperationException>().WithMessage("*rejected*");
        var unknown = () => Store.RetractAsync(new ObservationId(999_999), CancellationToken.None);
        await unknown.Should().ThrowAsync<UnknownObservationException>();
    }

    [StoreFact]
    public async Task The_profile_is_the_newest_real_value_and_placeholders_never_overwrite_it()
    {
        await Store.ObserveAsync(ObsWithProfile("Nina", OpenId(Mp, "nina")), CancellationToken.None);
        await Store.ObserveAsync(ObsWithProfile("微信用户", OpenId(Mp, "nina"), UnionId("nina")), CancellationToken.None);

        var person = await Resolve(UnionId("nina"));
        person.Profile.Should().ContainSingle(a => a.Name == "nickname").Which.Value.Should().Be("Nina");
    }

    [StoreFact]
    public async Task Erasing_a_profile_removes_private_data_everywhere_and_keeps_the_ids()
    {
        var r = await Store.ObserveAsync(ObsWithProfile("Olga", OpenId(Mp, "olga"), "phone::+8613800000005"), CancellationToken.None);

        (await Store.EraseProfileAsync(r.Person!.Value, CancellationToken.None)).Should().BeTrue();

        var person = await Resolve(OpenId(Mp, "olga"));
        person.Profile.Should().BeEmpty();
        person.Identifiers.Should().NotContain(i => i.Type == IdentifierType.Phone);
        var observations = await Store.GetObservationsAsync(person.Id, CancellationToken.None);
        observations.Should().OnlyContain(o => o.Profile.Count == 0 && o.Identifiers.All(i => i.Type != IdentifierType.Phone));
        var history = await Store.GetHistoryAsync(person.Id, CancellationToken.None);
        history.SelectMany(e => e.Identifiers).Should().NotContain(i => i.Type == IdentifierType.Phone);
        history.Should().Contain(e => e.Kind == GraphEventKind.Erased);
        (await Store.EraseProfileAsync(new PersonId(424242), CancellationToken.None)).Should().BeFalse();
    }

    [StoreFact]
    public async Task History_and_observations_tell_how_the_person_came_to_be()
    {
        var a = await Observe(OpenId(Oa, "pat"));
        await Observe(OpenId(Mp, "pat"), UnionId("pat"));
        await Observe(OpenId(Oa, "pat"), UnionId("pat"));

        var history = await Store.GetHistoryAsync(a.Person!.Value, CancellationToken.None);
        history.Select(e => e.Kind).Should().ContainInOrder(GraphEventKind.Created, GraphEventKind.Created, GraphEventKind.Merged);
        history.Select(e => e.Sequence).Should().BeInAscendingOrder();
        (await Store.GetObservationsAsync(a.Person!.Value, CancellationToken.None)).Should().HaveCount(3);
        (await Store.ReadEventsAsync(0, 100, CancellationToken.None)).Should().HaveCount(3);
    }

    [StoreFact]
    public async Task Stats_count_persons_identifiers_coverage_and_overlap()
    {
        await Observe(OpenId(Oa, "q1"), UnionId("q1"));
        await Observe(OpenId(Oa, "q2"));
        await Observe(OpenId(Mp, "q1"), UnionId("q1"));
        await Observe(OpenId(Mp, "q3"), "phone::+8613800000006");

        var stats = await Store.GetStatsAsync(CancellationToken.None);

        stats.Persons.Should().Be(3);
        stats.Observations.Should().Be(4);
        stats.Identifiers.Should().Be(6);
        stats.IdentifiersByType.Should().Contain(new KeyValuePair<string, long>("openid", 4)).And.Contain(new KeyValuePair<string, long>("phone", 1));
        stats.UnionIdCoverage.Should().BeEquivalentTo(new[] { new AppCoverage(Mp, 2, 1), new AppCoverage(Oa, 2, 1) });
        stats.Overlap.Should().BeEquivalentTo(new[] { new AppOverlap(Mp, Oa, 1) });
    }

    [StoreFact]
    public async Task A_batch_applies_in_order_in_one_transaction()
    {
        var results = await Store.ObserveManyAsync(
            [Obs(OpenId(Oa, "r")), Obs(OpenId(Mp, "r"), UnionId("r")), Obs(OpenId(Oa, "r"), UnionId("r")), Obs(OpenId(Oa, "zz"), UnionId("r"))],
            CancellationToken.None);

        results.Select(r => r.Outcome).Should().Equal(ObserveOutcome.Accepted, ObserveOutcome.Accepted, ObserveOutcome.Accepted, ObserveOutcome.Rejected);
        results[2].Person.Should().Be(results[0].Person);
    }

    [StoreFact]
    public async Task Parallel_writers_touching_the_same_persons_lose_nothing_and_never_split_an_identifier()
    {
        // 8 writers race over 40 people; each person's ids arrive from several writers in random order.
        var random = new Random(7);
        var work = Enumerable.Range(0, 8).Select(w => Enumerable.Range(0, 60).Select(_ =>
        {
            var who = "w" + random.Next(40);
            var ids = new List<string>();
            if (random.Next(2) == 0) ids.Add(OpenId(Oa, who));
            if (random.Next(2) == 0) ids.Add(OpenId(Mp, who));
            if (random.Next(3) == 0) ids.Add(UnionId(who));
            if (ids.Count == 0) ids.Add(OpenId(Web, who));
            return ids.ToArray();
        }).ToArray()).ToArray();

        var results = await Task.WhenAll(work.Select(batch => Task.Run(async () =>
        {
            var list = new List<ObserveResult>();
            foreach (var ids in batch)
            {
                list.Add(await Observe(ids));
            }
            return list;
        })));

        var all = results.SelectMany(r => r).ToArray();
        all.Should().HaveCount(480);
        all.Should().OnlyContain(r => r.Outcome == ObserveOutcome.Accepted, "no observation here can conflict");
        (await Store.GetStatsAsync(CancellationToken.None)).Observations.Should().Be(480);
        var everyId = work.SelectMany(b => b).SelectMany(x => x).Distinct().ToArray();
        foreach (var id in everyId)
        {
            (await Store.FindAsync(Id(id), CancellationToken.None)).Should().NotBeNull($"{id} was observed");
        }
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task Reopening_the_store_keeps_everything_and_migrations_apply_once()
    {
        var r = await Observe(OpenId(Oa, "sam"), UnionId("sam"));
        await using var again = await SqlGraphStore.OpenAsync(Store.Database, CancellationToken.None);
        (await again.FindAsync(Id(UnionId("sam")), CancellationToken.None))!.Id.Should().Be(r.Person!.Value);
    }

    // ---- operator: keep-apart, conflicts, search

    [StoreFact]
    public async Task Persons_kept_apart_never_merge_and_the_observation_becomes_an_open_conflict()
    {
        var a = await Observe(OpenId(Oa, "kim"));
        var b = await Observe(OpenId(Mp, "kim"), UnionId("kim"));
        (await Store.KeepApartAsync(a.Person!.Value, b.Person!.Value, CancellationToken.None)).Should().BeTrue();
        (await Store.KeepApartAsync(b.Person!.Value, a.Person!.Value, CancellationToken.None)).Should().BeFalse("it already holds, either way round");

        var joining = await Observe(OpenId(Oa, "kim"), UnionId("kim"));

        joining.Outcome.Should().Be(ObserveOutcome.Rejected);
        joining.Conflicts.Should().ContainSingle(c => c.IsKeepApart);
        (await Resolve(OpenId(Oa, "kim"))).Id.Should().Be(a.Person!.Value);
        (await Resolve(UnionId("kim"))).Id.Should().Be(b.Person!.Value);
        (await Store.GetKeptApartAsync(a.Person!.Value, CancellationToken.None)).Should().Equal(b.Person!.Value);
        var conflict = (await Store.GetConflictAsync(joining.Observation, CancellationToken.None))!;
        conflict.State.Should().Be(ConflictState.Open);
        conflict.Persons.Should().Equal(a.Person!.Value, b.Person!.Value);
        await Store.Invoking(s => s.ResolveConflictAsync(joining.Observation, ConflictAction.Apply, null, CancellationToken.None))
            .Should().ThrowAsync<ConflictNotResolvableException>().WithMessage("*lift the keep-apart first*");

        (await Store.LiftKeepApartAsync(a.Person!.Value, b.Person!.Value, CancellationToken.None)).Should().BeTrue();
        (await Store.LiftKeepApartAsync(a.Person!.Value, b.Person!.Value, CancellationToken.None)).Should().BeFalse();
        (await Observe(OpenId(Oa, "kim"), UnionId("kim"))).Events.Should().Contain(e => e.Kind == GraphEventKind.Merged);
    }

    [StoreFact]
    public async Task A_keep_apart_constraint_follows_a_person_through_a_merge_with_someone_else()
    {
        var a = await Observe(OpenId(Oa, "lee"));
        var b = await Observe(OpenId(Mp, "lee"), UnionId("lee"));
        var c = await Observe(OpenId(Web, "lee"));
        await Store.KeepApartAsync(b.Person!.Value, c.Person!.Value, CancellationToken.None);

        // a is older than b: b's id becomes an alias of a, and the constraint now binds a.
        (await Observe(OpenId(Oa, "lee"), UnionId("lee"))).Person.Should().Be(a.Person);
        var joining = await Observe(OpenId(Web, "lee"), UnionId("lee"));

        joining.Outcome.Should().Be(ObserveOutcome.Rejected);
        (await Store.GetKeptApartAsync(a.Person!.Value, CancellationToken.None)).Should().Equal(c.Person!.Value);
    }

    [StoreFact]
    public async Task Keep_apart_refuses_unknown_persons_and_one_person_named_twice()
    {
        var a = await Observe(OpenId(Oa, "max"), UnionId("max"));
        await Store.Invoking(s => s.KeepApartAsync(a.Person!.Value, new PersonId(999), CancellationToken.None)).Should().ThrowAsync<UnknownPersonException>();
        await Store.Invoking(s => s.KeepApartAsync(a.Person!.Value, a.Person!.Value, CancellationToken.None)).Should().ThrowAsync<InvalidOperationException>();
        await Store.Invoking(s => s.LiftKeepApartAsync(new PersonId(999), a.Person!.Value, CancellationToken.None)).Should().ThrowAsync<UnknownPersonException>();
    }

    [StoreFact]
    public async Task Conflicts_list_open_ones_first_with_the_values_in_dispute_and_what_stands_in_the_way()
    {
        var first = await Observe(OpenId(Mp, "ned"), UnionId("ned"));
        var clash1 = await Observe(OpenId(Mp, "ned2"), UnionId("ned"));
        var clash2 = await Observe(OpenId(Mp, "ned3"), UnionId("ned"));
        await Store.ResolveConflictAsync(clash1.Observation, ConflictAction.Dismiss, null, CancellationToken.None);

        var page = await Store.GetConflictsAsync(0, 10, CancellationToken.None);

        page.Open.Should().Be(1);
        page.Total.Should().Be(2);
        page.Items.Select(c => c.Id).Should().Equal(clash2.Observation, clash1.Observation);
        var open = page.Items[0];
        open.State.Should().Be(ConflictState.Open);
        open.Disputes.Should().ContainSingle().Which.Should().Match<Conflict>(d =>
            d.Type == "openid" && d.Namespace == Mp && d.Values.Count == 2 && d.Persons.SequenceEqual(new[] { first.Person!.Value }));
        open.Persons.Should().Equal(first.Person!.Value);
        open.StandingInTheWay.Should().Equal(first.Observation);
        open.Observation.Status.Should().Be(ObservationStatus.Rejected);
        page.Items[1].State.Should().Be(ConflictState.Dismissed);
        (await Store.GetConflictsAsync(1, 10, CancellationToken.None)).Items.Select(c => c.Id).Should().Equal(clash1.Observation);
        await Store.Invoking(s => s.ResolveConflictAsync(clash1.Observation, ConflictAction.Dismiss, null, CancellationToken.None))
            .Should().ThrowAsync<ConflictNotResolvableException>().WithMessage("*already dismissed*");
        await Store.Invoking(s => s.ResolveConflictAsync(first.Observation, ConflictAction.Dismiss, null, CancellationToken.None))
            .Should().ThrowAsync<UnknownConflictException>();
    }

    [StoreFact]
    public async Task Applying_a_conflict_retracts_what_stood_in_the_way_and_applies_the_rejected_observation()
    {
        var first = await Observe(OpenId(Mp, "ola"), UnionId("ola"));
        var clash = await Observe(OpenId(Mp, "ola2"), UnionId("ola"));

        var resolution = await Store.ResolveConflictAsync(clash.Observation, ConflictAction.Apply, null, CancellationToken.None);

        resolution.Retractions.Select(r => r.Observation).Should().Equal(first.Observation);
        resolution.Applied!.Outcome.Should().Be(ObserveOutcome.Accepted);
        resolution.Conflict.State.Should().Be(ConflictState.Applied);
        (await Resolve(UnionId("ola"))).Identifiers.Select(i => i.ToString()).Should().Contain(OpenId(Mp, "ola2")).And.NotContain(OpenId(Mp, "ola"));
        var stored = (await Store.GetConflictAsync(clash.Observation, CancellationToken.None))!;
        stored.State.Should().Be(ConflictState.Applied);
        stored.AppliedAs.Should().Be(resolution.Applied.Observation);
        stored.Retracted.Should().Equal(first.Observation);
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task Applying_a_conflict_that_would_still_clash_changes_nothing()
    {
        var first = await Observe(OpenId(Mp, "pia"), UnionId("pia"));
        var clash = await Observe(OpenId(Mp, "pia2"), UnionId("pia"));
        var other = await Observe(OpenId(Oa, "pia"));

        // Retracting an unrelated observation leaves the clash in place: the whole resolution rolls back.
        await Store.Invoking(s => s.ResolveConflictAsync(clash.Observation, ConflictAction.Apply, [other.Observation], CancellationToken.None))
            .Should().ThrowAsync<ConflictNotResolvableException>().WithMessage("*still be rejected*");

        (await Resolve(OpenId(Oa, "pia"))).Id.Should().Be(other.Person!.Value);
        (await Resolve(UnionId("pia"))).Id.Should().Be(first.Person!.Value);
        (await Store.GetConflictAsync(clash.Observation, CancellationToken.None))!.State.Should().Be(ConflictState.Open);
    }

    [StoreFact]
    public async Task Search_finds_persons_by_whole_identifier_prefix_value_prefix_person_id_and_only_with_private_by_phone_or_nickname()
    {
        var quinn = await Store.ObserveAsync(ObsWithProfile("Quinn 张", OpenId(Mp, "quinn"), UnionId("quinn"), "phone::+8613800000042"), CancellationToken.None);
        var other = await Observe(OpenId(Mp, "rosa"), UnionId("rosa"));
        var merged = await Observe(OpenId(Oa, "quinn"));
        await Observe(OpenId(Oa, "quinn"), UnionId("quinn"));

        async Task<PersonId[]> Search(string q, bool priv = false) =>
            (await Store.SearchAsync(q, priv, 10, CancellationToken.None)).Select(h => h.Person.Id).ToArray();

        (await Search(UnionId("quinn"))).Should().Equal(quinn.Person!.Value);
        (await Search($"openid:{Mp}:oquin")).Should().Equal(quinn.Person!.Value);
        (await Search($"openid:{Mp}:o")).Should().BeEquivalentTo(new[] { quinn.Person!.Value, other.Person!.Value });
        (await Search("oquinn")).Should().Equal(quinn.Person!.Value);
        (await Search("OQUINN")).Should().BeEmpty("values are case-sensitive");
        (await Search(quinn.Person!.Value.ToString())).Should().Equal(quinn.Person!.Value);
        (await Search(merged.Person!.Value.ToString())).Should().Equal(new[] { quinn.Person!.Value }, "an alias finds the person it names");
        (await Search("p_999")).Should().BeEmpty();
        (await Search("+86138000000")).Should().BeEmpty("phones are private");
        (await Search("+86138000000", priv: true)).Should().Equal(quinn.Person!.Value);
        (await Search("phone::+8613800000042", priv: true)).Should().Equal(quinn.Person!.Value);
        (await Search("phone::+8613800000042")).Should().BeEmpty();
        (await Search("张")).Should().BeEmpty("nicknames are private");
        (await Search("张", priv: true)).Should().Equal(quinn.Person!.Value);
        (await Search("100%_")).Should().BeEmpty("LIKE wildcards are literal");
        (await Search("  ")).Should().BeEmpty();
    }

    [StoreFact]
    public async Task A_write_through_another_instance_changes_the_version_and_is_seen_at_once()
    {
        await Observe(OpenId(Oa, "vic"));
        var before = await Store.GetVersionAsync(CancellationToken.None);
        (await Store.GetVersionAsync(CancellationToken.None)).Should().Be(before, "nothing was written in between");

        // Another instance (its own connections, as another hub process would have) merges vic's two persons.
        await using (var other = await SqlGraphStore.OpenAsync(Location, CancellationToken.None, Tenant))
        {
            await other.ObserveAsync(Obs(OpenId(Mp, "vic"), UnionId("vic")), CancellationToken.None);
            await other.ObserveAsync(Obs(OpenId(Oa, "vic"), UnionId("vic")), CancellationToken.None);
        }

        (await Store.GetVersionAsync(CancellationToken.None)).Should().NotBe(before);
        (await Resolve(OpenId(Mp, "vic"))).Identifiers.Should().HaveCount(3);
    }
}
