using FluentAssertions;
using OneId.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>Replacement (docs/model.md §3.9) on every store: SQLite, PostgreSQL and Citus run these unchanged.</summary>
public abstract partial class GraphStoreContract
{
    protected const string NewOa = "wx00000000000000d4";
    private const string Corp = "ww0000000000000001/isv1";

    protected static string Ext(string who) => $"external_userid:{Corp}:wm{who.PadRight(30, 'e')}";

    /// <summary>An observation of <paramref name="ids"/> saying that each new identifier replaces its old one.</summary>
    protected Observation Replacing(IReadOnlyList<(string New, string Old)> replaces, params string[] ids) =>
        new(ids.Concat(replaces.Select(r => r.New)).Distinct().Select(Id), "migration", T0.AddSeconds(_tick++), null,
            replaces.Select(r => new Replacement(Id(r.Old), Id(r.New))));

    protected Task<ObserveResult> Replace(string @new, string old, params string[] ids) =>
        Store.ObserveAsync(Replacing([(@new, old)], ids), CancellationToken.None);

    private static Dictionary<string, string> Marks(Person p) => p.ReplacedBy.ToDictionary(r => r.Key.ToString(), r => r.Value.ToString());

    [StoreFact]
    public async Task A_replacement_takes_the_old_identifiers_place_and_the_old_one_still_resolves()
    {
        var first = await Observe(Ext("old-amy"), UnionId("amy"));

        var replaced = await Replace(Ext("new-amy"), Ext("old-amy"));

        replaced.Outcome.Should().Be(ObserveOutcome.Accepted, "a replacement is never a conflict in the old id's namespace");
        replaced.Person.Should().Be(first.Person);
        var e = replaced.Events.Should().ContainSingle(x => x.Kind == GraphEventKind.IdentifierReplaced).Subject;
        e.Identifiers.Select(i => i.ToString()).Should().Equal(Ext("old-amy"), Ext("new-amy"));
        e.WebhookName.Should().Be("person.identifier_replaced");
        var person = await Resolve(Ext("old-amy"));
        person.Id.Should().Be(first.Person!.Value);
        (await Resolve(Ext("new-amy"))).Id.Should().Be(person.Id);
        Marks(person).Should().Equal(new Dictionary<string, string> { [Ext("old-amy")] = Ext("new-amy") });
        (await Store.GetHistoryAsync(person.Id, CancellationToken.None)).Select(x => x.KindName).Should().Contain("identifier_replaced");
        (await Store.ReadEventsAsync(0, 100, CancellationToken.None)).Should().Contain(x => x.Kind == GraphEventKind.IdentifierReplaced && x.Person == person.Id);
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task Stats_count_a_replaced_identifier_once_as_its_successor()
    {
        await Observe(Ext("old-eve"), UnionId("eve"));
        await Replace(Ext("new-eve"), Ext("old-eve"));

        var stats = await Store.GetStatsAsync(CancellationToken.None);

        stats.IdentifiersByType.Should().Contain(new KeyValuePair<string, long>("external_userid", 1), "the old id still resolves but is no longer one the person holds");
        stats.Identifiers.Should().Be(2);
    }

    [StoreFact]
    public async Task A_replacement_said_twice_is_marked_and_announced_once()
    {
        await Observe(Ext("old-ann"));
        await Replace(Ext("new-ann"), Ext("old-ann"));

        var again = await Replace(Ext("new-ann"), Ext("old-ann"));

        again.Outcome.Should().Be(ObserveOutcome.Accepted);
        again.Events.Should().BeEmpty();
    }

    [StoreFact]
    public async Task A_replacement_of_an_unknown_identifier_creates_the_person_with_both()
    {
        var result = await Replace(OpenId(NewOa, "new-cy"), OpenId(Oa, "old-cy"));

        result.NewPerson.Should().BeTrue();
        var person = await Resolve(OpenId(Oa, "old-cy"));
        person.Id.Should().Be(result.Person!.Value);
        Marks(person).Should().ContainKey(OpenId(Oa, "old-cy"));
    }

    [StoreFact]
    public async Task An_old_identifier_seen_again_after_its_replacement_links_to_the_person_instead_of_conflicting()
    {
        var first = await Observe(Ext("old-dee"));
        await Replace(Ext("new-dee"), Ext("old-dee"));

        // A delayed push or an old import line still names the old id, with a unionid the person did not have yet.
        var late = await Observe(Ext("old-dee"), UnionId("dee"));

        late.Outcome.Should().Be(ObserveOutcome.Accepted);
        late.Person.Should().Be(first.Person);
        var person = await Resolve(UnionId("dee"));
        Marks(person).Should().ContainKey(Ext("old-dee"), "a replaced id stays replaced whatever names it again");
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task A_chain_resolves_from_every_link_in_either_order_of_arrival()
    {
        // In order: A → B, then B → C.
        var inOrder = await Observe(Ext("a1"), UnionId("chain1"));
        await Replace(Ext("b1"), Ext("a1"));
        await Replace(Ext("c1"), Ext("b1"));
        // Out of order: B → C arrives before A → B.
        var outOfOrder = await Observe(Ext("a2"), UnionId("chain2"));
        await Replace(Ext("c2"), Ext("b2"));
        await Replace(Ext("b2"), Ext("a2"));

        foreach (var (n, first) in new[] { ("1", inOrder), ("2", outOfOrder) })
        {
            foreach (var link in new[] { Ext("a" + n), Ext("b" + n), Ext("c" + n), UnionId("chain" + n) })
            {
                (await Resolve(link)).Id.Should().Be(first.Person!.Value, $"{link} is a link of chain {n}");
            }
            Marks(await Resolve(Ext("c" + n))).Should().Equal(new Dictionary<string, string>
            {
                [Ext("a" + n)] = Ext("b" + n),
                [Ext("b" + n)] = Ext("c" + n),
            });
        }
        // C is the only id in effect: a fourth value in the namespace conflicts with it, not with A or B.
        (await Observe(Ext("c1"), Ext("zz1"))).Outcome.Should().Be(ObserveOutcome.Rejected);
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task A_chain_in_one_batch_ends_as_applied_one_by_one()
    {
        await Observe(Ext("a3"));
        var results = await Store.ObserveManyAsync([Replacing([(Ext("b3"), Ext("a3"))]), Replacing([(Ext("c3"), Ext("b3"))])], CancellationToken.None);

        results.Should().OnlyContain(r => r.Outcome == ObserveOutcome.Accepted);
        Marks(await Resolve(Ext("a3"))).Should().HaveCount(2);
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task A_new_identifier_held_by_another_person_merges_the_two()
    {
        var old = await Observe(Ext("old-eve"), UnionId("eve"));
        var other = await Observe(Ext("new-eve"), OpenId(Mp, "eve"));

        var replaced = await Replace(Ext("new-eve"), Ext("old-eve"));

        replaced.Outcome.Should().Be(ObserveOutcome.Accepted);
        replaced.Person.Should().Be(old.Person, "the person created first survives, as in any merge");
        replaced.Events.Select(e => e.Kind).Should().Contain([GraphEventKind.Merged, GraphEventKind.IdentifierReplaced]);
        (await Resolve(OpenId(Mp, "eve"))).Id.Should().Be(old.Person!.Value);
        (await Store.GetAsync(other.Person!.Value, CancellationToken.None))!.Id.Should().Be(old.Person.Value, "the absorbed id is an alias");
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task A_replacement_that_would_join_two_values_of_another_namespace_is_rejected_whole()
    {
        await Observe(Ext("old-fay"), UnionId("fay"));
        await Observe(Ext("new-fay"), UnionId("someone-else"));

        var replaced = await Replace(Ext("new-fay"), Ext("old-fay"));

        replaced.Outcome.Should().Be(ObserveOutcome.Rejected);
        replaced.Conflicts.Should().ContainSingle().Which.Type.Should().Be("unionid");
        Marks(await Resolve(Ext("old-fay"))).Should().BeEmpty("nothing of a rejected observation is applied");
    }

    [StoreFact]
    public async Task A_replacement_racing_a_merge_ends_in_the_same_graph_in_both_orders()
    {
        // Two worlds with the same shape: an OA follower (old openid) and an MP user (unionid), merged by a login that
        // shows both, while the OA's account migration replaces the old openid with the new account's.
        async Task<PersonId> Play(string n, bool mergeFirst)
        {
            var follower = await Observe(OpenId(Oa, "race" + n));
            await Observe(OpenId(Mp, "race" + n), UnionId("race" + n));
            var merge = Obs(OpenId(Oa, "race" + n), UnionId("race" + n));
            var migration = Replacing([(OpenId(NewOa, "race" + n), OpenId(Oa, "race" + n))]);
            foreach (var o in mergeFirst ? new[] { merge, migration } : [migration, merge])
            {
                (await Store.ObserveAsync(o, CancellationToken.None)).Outcome.Should().Be(ObserveOutcome.Accepted);
            }
            return follower.Person!.Value;
        }

        var a = await Play("a", mergeFirst: true);
        var b = await Play("b", mergeFirst: false);

        string Shape(Person p, string n) => string.Join(" ", p.Identifiers.Select(i => (p.ReplacedBy.TryGetValue(i, out var r) ? $"{i}→{r}" : i.ToString()).Replace("race" + n, "race", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var personA = await Resolve(UnionId("racea"));
        var personB = await Resolve(UnionId("raceb"));
        personA.Id.Should().Be(a);
        personB.Id.Should().Be(b);
        Shape(personB, "b").Should().Be(Shape(personA, "a"));
        Marks(personB).Should().ContainKey(OpenId(Oa, "raceb"));
        personB.Identifiers.Should().HaveCount(4);
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task Retracting_a_replacement_restores_the_old_identifier_or_is_refused_when_both_would_be_in_effect()
    {
        await Observe(Ext("old-gus"), UnionId("gus"));
        var replacement = await Replace(Ext("new-gus"), Ext("old-gus"));

        await Store.RetractAsync(replacement.Observation, CancellationToken.None);

        var person = await Resolve(Ext("old-gus"));
        Marks(person).Should().BeEmpty();
        (await Store.FindAsync(Id(Ext("new-gus")), CancellationToken.None)).Should().BeNull();
        await GraphInvariants.AssertMatchesReplayAsync(Store);

        // Once another observation shows the old and the new id together, undoing the replacement would leave both in effect.
        var again = await Replace(Ext("new-gus"), Ext("old-gus"));
        await Observe(Ext("old-gus"), Ext("new-gus"), OpenId(Mp, "gus"));
        var refused = () => Store.RetractAsync(again.Observation, CancellationToken.None);
        (await refused.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("would leave");
        Marks(await Resolve(Ext("old-gus"))).Should().ContainKey(Ext("old-gus"), "a refused retraction changes nothing");
    }
    [StoreFact]
    public async Task A_migrations_walk_lists_neither_replaced_identifiers_nor_the_successors_that_replaced_them()
    {
        // A provider's upgrade keeps the namespace: old and new external_userids sit side by side in it.
        await Observe(Ext("old-hal"));
        await Observe(Ext("old-ida"));
        await Observe(Ext("plain-jo"));
        await Replace(Ext("new-hal"), Ext("old-hal"));
        var ns = Id(Ext("old-hal")).Namespace;

        var walk = await Store.ListIdentifiersAsync(IdentifierType.ExternalUserId, ns, null, 100, CancellationToken.None);

        walk.Select(i => i.ToString()).Should().Equal([Ext("old-ida"), Ext("plain-jo")],
            "old-hal is converted already and new-hal is its successor: sending it again would only map it to itself");
        (await Store.ListIdentifiersAsync(IdentifierType.ExternalUserId, ns, Id(Ext("old-ida")), 100, CancellationToken.None))
            .Select(i => i.ToString()).Should().Equal([Ext("plain-jo")], "the walk resumes after its checkpoint");
    }

    [StoreFact]
    public async Task Unionid_coverage_and_overlap_leave_out_the_openids_an_OA_account_migration_replaced()
    {
        // Two followers of the old OA, one with a unionid; the migration gives each an openid of the new OA.
        await Observe(OpenId(Oa, "kim"), UnionId("kim"));
        await Observe(OpenId(Oa, "lou"));
        await Observe(OpenId(Mp, "kim"), UnionId("kim"));
        await Replace(OpenId(NewOa, "kim"), OpenId(Oa, "kim"));
        await Replace(OpenId(NewOa, "lou"), OpenId(Oa, "lou"));

        var stats = await Store.GetStatsAsync(CancellationToken.None);

        stats.UnionIdCoverage.Should().BeEquivalentTo(new[] { new AppCoverage(Mp, 1, 1), new AppCoverage(NewOa, 2, 1) },
            "the old OA's openids were all replaced: its persons are the new OA's now");
        stats.Overlap.Should().BeEquivalentTo(new[] { new AppOverlap(Mp, NewOa, 1) }, "kim's old and new openid are one app's, not an overlap");
    }
}
