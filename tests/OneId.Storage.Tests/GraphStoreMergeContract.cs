using FluentAssertions;
using OneId.Graph;
using OneId.Testing;

namespace OneId.Storage.Tests;

/// <summary>
/// A merge only marks the absorbed person (<c>persons.merged_into</c>, always the root); its rows keep its id. These
/// cases put rows on absorbed persons in earlier transactions (every Observe is its own) and then read, link, split,
/// erase, keep apart and resolve conflicts through them.
/// </summary>
public abstract partial class GraphStoreContract
{
    [StoreFact]
    public async Task A_merge_of_persons_from_earlier_transactions_then_a_split_resolves_by_every_identifier()
    {
        var first = await Observe(OpenId(Oa, "nia"));
        var second = await Observe(OpenId(Mp, "nia"), UnionId("nia"), "phone::+8613800000011");
        var join = await Observe(OpenId(Oa, "nia"), UnionId("nia"));
        var p1 = first.Person!.Value;
        var p2 = second.Person!.Value;
        join.Person.Should().Be(p1);

        foreach (var id in new[] { OpenId(Oa, "nia"), OpenId(Mp, "nia"), UnionId("nia"), "phone::+8613800000011" })
        {
            (await Resolve(id)).Id.Should().Be(p1, $"{id} belongs to the survivor after the merge");
        }
        var merged = (await Store.GetAsync(p2, CancellationToken.None))!;
        merged.Id.Should().Be(p1);
        merged.Aliases.Should().Equal(p2);
        merged.Identifiers.Should().HaveCount(4);
        (await Store.GetObservationsAsync(p1, CancellationToken.None)).Select(o => o.Id).Should()
            .Equal(first.Observation, second.Observation, join.Observation);
        var stats = await Store.GetStatsAsync(CancellationToken.None);
        stats.Persons.Should().Be(1);
        stats.Overlap.Should().ContainSingle(o => o.Persons == 1);
        stats.UnionIdCoverage.Should().HaveCount(2).And.OnlyContain(c => c.Persons == 1 && c.WithUnionId == 1);
        (await Store.SearchAsync("+86138000000", includePrivate: true, 10, CancellationToken.None)).Select(h => h.Person.Id).Should().Equal(p1);

        // A link through an identifier the absorbed person holds lands on the survivor.
        var link = await Observe(OpenId(Mp, "nia"), OpenId(Web, "nia"));
        link.Person.Should().Be(p1);
        link.Events.Select(e => e.Kind).Should().Equal(GraphEventKind.Linked);

        var split = await Store.RetractAsync(join.Observation, CancellationToken.None);

        split.Persons.Should().HaveCount(2);
        split.Persons[0].Should().Be(p1);
        (await Resolve(OpenId(Oa, "nia"))).Identifiers.Select(i => i.ToString()).Should().Equal(OpenId(Oa, "nia"));
        foreach (var id in new[] { OpenId(Mp, "nia"), UnionId("nia"), OpenId(Web, "nia"), "phone::+8613800000011" })
        {
            (await Resolve(id)).Id.Should().Be(split.Persons[1], $"{id} went with the other part");
        }
        (await Store.GetStatsAsync(CancellationToken.None)).Persons.Should().Be(2);
        await GraphInvariants.AssertMatchesReplayAsync(Store);

        // And merged again, in a later transaction.
        (await Observe(OpenId(Oa, "nia"), UnionId("nia"))).Person.Should().Be(p1);
        (await Resolve(OpenId(Web, "nia"))).Id.Should().Be(p1);
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task A_merge_of_a_person_with_aliases_leaves_every_alias_pointing_at_the_new_root()
    {
        var p1 = (await Observe(OpenId(Oa, "oz"))).Person!.Value;
        var p2 = (await Observe(OpenId(Mp, "oz"))).Person!.Value;
        var p3 = (await Observe(OpenId(Web, "oz"), UnionId("oz"))).Person!.Value;
        (await Observe(OpenId(Mp, "oz"), UnionId("oz"))).Person.Should().Be(p2, "p3 becomes an alias of p2");
        (await Observe(OpenId(Oa, "oz"), UnionId("oz"))).Person.Should().Be(p1, "p2, with its alias p3, is absorbed by p1");

        (await Store.GetAsync(p3, CancellationToken.None))!.Id.Should().Be(p1);
        (await Store.GetAsync(p1, CancellationToken.None))!.Aliases.Should().Equal(p2, p3);
        (await Resolve(OpenId(Web, "oz"))).Id.Should().Be(p1);
        // A batch whose only known identifier sits on the alias of an alias links to the root.
        (await Observe(OpenId(Web, "oz"), "phone::+8613800000012")).Person.Should().Be(p1);
        (await Resolve("phone::+8613800000012")).Identifiers.Should().HaveCount(5);
        await GraphInvariants.AssertMatchesReplayAsync(Store);
    }

    [StoreFact]
    public async Task A_keep_apart_made_before_a_merge_binds_and_lifts_through_the_survivor()
    {
        var a = (await Observe(OpenId(Oa, "pat"))).Person!.Value;
        var b = (await Observe(OpenId(Mp, "pat"), UnionId("pat"))).Person!.Value;
        var c = (await Observe(OpenId(Web, "pat"))).Person!.Value;
        await Store.KeepApartAsync(b, c, CancellationToken.None);
        await Observe(OpenId(Oa, "pat"), UnionId("pat"));

        (await Store.KeepApartAsync(a, c, CancellationToken.None)).Should().BeFalse("the constraint made with b holds for a now");
        (await Store.GetKeptApartAsync(c, CancellationToken.None)).Should().Equal(a);
        (await Observe(OpenId(Web, "pat"), OpenId(Oa, "pat"))).Outcome.Should().Be(ObserveOutcome.Rejected);

        (await Store.LiftKeepApartAsync(c, a, CancellationToken.None)).Should().BeTrue();
        (await Store.GetKeptApartAsync(a, CancellationToken.None)).Should().BeEmpty();
        (await Observe(OpenId(Web, "pat"), OpenId(Oa, "pat"))).Person.Should().Be(a);
    }

    [StoreFact]
    public async Task Erasing_and_resolving_a_conflict_reach_the_rows_an_absorbed_person_holds()
    {
        var p1 = (await Observe(OpenId(Oa, "quinn"))).Person!.Value;
        var absorbed = await Store.ObserveAsync(ObsWithProfile("Quinn", OpenId(Mp, "quinn"), UnionId("quinn"), "phone::+8613800000013"), CancellationToken.None);
        await Observe(OpenId(Oa, "quinn"), UnionId("quinn"));

        // A second MP openid for the union id: the observation standing in the way is the absorbed person's own.
        var bad = await Observe(OpenId(Mp, "quinn2"), UnionId("quinn"));
        bad.Outcome.Should().Be(ObserveOutcome.Rejected);
        (await Store.GetConflictAsync(bad.Observation, CancellationToken.None))!.StandingInTheWay.Should().Equal(absorbed.Observation);

        var resolution = await Store.ResolveConflictAsync(bad.Observation, ConflictAction.Apply, null, CancellationToken.None);

        resolution.Applied!.Person.Should().Be(p1);
        (await Resolve(OpenId(Mp, "quinn2"))).Id.Should().Be(p1);
        (await Store.FindAsync(Id(OpenId(Mp, "quinn")), CancellationToken.None)).Should().BeNull();
        await GraphInvariants.AssertMatchesReplayAsync(Store);

        var p5 = (await Observe(OpenId(Web, "quinn"), "phone::+8613800000014")).Person!.Value;
        (await Observe(OpenId(Web, "quinn"), UnionId("quinn"))).Person.Should().Be(p1);
        (await Store.EraseProfileAsync(p1, CancellationToken.None)).Should().BeTrue();
        (await Store.FindAsync(Id("phone::+8613800000014"), CancellationToken.None)).Should().BeNull("the phone the absorbed person held is erased too");
        (await Store.GetAsync(p5, CancellationToken.None))!.Identifiers.Should().NotContain(i => i.Type == IdentifierType.Phone);
    }
}
