using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// The graph does not depend on the order in which evidence arrives, where the rules say it must not: observations
/// that are consistent with one another (each the ids of one real person, phones shared between people) end in the
/// same partition of identifiers into persons in any order and refuse nothing; an observation that contradicts itself
/// (two unionids of one Open Platform account) is refused in any order. One order is applied one observation at a
/// time, the other as one batch, so both write paths are compared; both are checked against an oracle computed in the
/// test from the definition.
/// </summary>
public static class GraphOrderProperties
{
    /// <summary>A world: observations in arrival order, a shuffled order of the same, and the contradicting ones.</summary>
    public sealed record Case(string[][] Observations, int[] Shuffle, string[][] Contradictions)
    {
        public override string ToString() =>
            $"{Observations.Length} observations, order [{string.Join(",", Shuffle)}], {Contradictions.Length} contradictions: " +
            string.Join(" | ", Observations.Select(o => string.Join(" ", o)));
    }

    /// <summary>Every id a real person <paramref name="p"/> has; phones are shared by pairs of people (weak, they never merge).</summary>
    private static string[] IdsOf(int p) =>
    [
        $"openid:wx00000000000000a1:oA{p:D6}", $"openid:wx00000000000000b2:oB{p:D6}", $"unionid:acme:oU{p:D6}",
        $"account:shop:{10000 + p}", $"phone::+86138000000{p / 2:D2}",
    ];

    public static Arbitrary<Case> Cases()
    {
        var observation = from person in Gen.Choose(0, 5)
                          from size in Gen.Choose(1, 3)
                          from picks in Gen.ArrayOf(Gen.Choose(0, 4), size)
                          select picks.Distinct().Select(i => IdsOf(person)[i]).ToArray();
        var contradiction = from a in Gen.Choose(0, 5)
                            from b in Gen.Choose(0, 5)
                            where a != b
                            select new[] { IdsOf(a)[2], IdsOf(b)[2] };
        return (from n in Gen.Choose(1, 30)
                from good in Gen.ArrayOf(observation, n)
                from m in Gen.Choose(0, 2)
                from bad in Gen.ArrayOf(contradiction, m)
                let all = good.Concat(bad).ToArray()
                from keys in Gen.ArrayOf(Gen.Choose(0, 1_000_000), all.Length)
                select new Case(all, Enumerable.Range(0, all.Length).OrderBy(i => keys[i]).ToArray(), bad)).ToArbitrary();
    }

    private static readonly DateTimeOffset Start = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Observation Obs(string[] ids, int minute) => new(ids.Select(Identifier.Parse), "prop", Start.AddMinutes(minute));

    /// <summary>Applies both orders, each to its own store, and compares the outcomes.</summary>
    public static async Task RunAsync(string inOrderDb, string shuffledDb, Case c)
    {
        await using var oneByOne = await SqlGraphStore.OpenAsync(inOrderDb, CancellationToken.None);
        for (var i = 0; i < c.Observations.Length; i++)
        {
            await oneByOne.ObserveAsync(Obs(c.Observations[i], i), CancellationToken.None);
        }
        await using var batched = await SqlGraphStore.OpenAsync(shuffledDb, CancellationToken.None);
        await batched.ObserveManyAsync(c.Shuffle.Select((o, i) => Obs(c.Observations[o], i)).ToArray(), CancellationToken.None);

        var a = await OutcomeAsync(oneByOne);
        var b = await OutcomeAsync(batched);
        b.Persons.Should().Equal(a.Persons, "the same observations in another order end in the same persons");
        var expectedRejected = c.Contradictions.Select(Key).Order(StringComparer.Ordinal).ToArray();
        a.Rejected.Should().Equal(expectedRejected, "only the self-contradicting observations are refused");
        b.Rejected.Should().Equal(expectedRejected, "in any order");
        var oracle = GraphInvariants.Partition(GraphInvariants.ExpectedPersons(
            c.Observations.Except(c.Contradictions).Select((ids, i) => new ObservationRecord(new ObservationId(i + 1), ids.Select(Identifier.Parse).ToArray(), "", Start, [], ObservationStatus.Accepted))));
        a.Persons.Should().Equal(oracle, "the persons are the components of the consistent observations");
        await GraphInvariants.AssertMatchesReplayAsync(oneByOne);
        await GraphInvariants.AssertMatchesReplayAsync(batched);
    }

    private static string Key(IEnumerable<string> ids) => string.Join(" ", ids.Order(StringComparer.Ordinal));

    private static async Task<(string[] Persons, string[] Rejected)> OutcomeAsync(SqlGraphStore store)
    {
        var (observations, persons) = await GraphInvariants.ReadAllAsync(store);
        return (GraphInvariants.Partition(persons.Values.Select(ids => ids.Select(i => i.ToString()))),
            observations.Where(o => o.Status == ObservationStatus.Rejected).Select(o => Key(o.Identifiers.Select(i => i.ToString()))).Order(StringComparer.Ordinal).ToArray());
    }
}

public sealed class SqliteGraphOrderProperties
{
    [Fact]
    public void The_same_observations_in_any_order_end_in_the_same_persons_on_sqlite()
    {
        using var folder = new TempFolder();
        var run = 0;
        Prop.ForAll(GraphOrderProperties.Cases(), c =>
        {
            var n = Interlocked.Increment(ref run);
            GraphOrderProperties.RunAsync(folder.File($"o{n}a.db"), folder.File($"o{n}b.db"), c).GetAwaiter().GetResult();
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresGraphOrderProperties(PostgresFixture postgres)
{
    [Fact]
    public void The_same_observations_in_any_order_end_in_the_same_persons_on_postgres()
    {
        Prop.ForAll(GraphOrderProperties.Cases(), c =>
        {
            GraphOrderProperties.RunAsync(postgres.Cluster.CreateDatabaseAsync().GetAwaiter().GetResult(),
                postgres.Cluster.CreateDatabaseAsync().GetAwaiter().GetResult(), c).GetAwaiter().GetResult();
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(12));
    }
}
