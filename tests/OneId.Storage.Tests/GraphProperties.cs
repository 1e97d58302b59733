using FsCheck;
using FsCheck.Fluent;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// Random sequences of observe and retract over a small universe of ids (so that merges, conflicts and splits are
/// frequent). After every sequence the persons must equal the components of the accepted observations replayed from
/// scratch, and no person may hold two values in one exclusive namespace.
/// </summary>
public sealed class GraphProperties
{
    // Observe these ids | Retract the n-th earlier observation (modulo how many there are).
    public sealed record Op(string[]? Ids, int Retract)
    {
        public override string ToString() => Ids is null ? $"retract #{Retract}" : $"observe {string.Join(" ", Ids)}";
    }

    private static readonly string[] Universe =
    [
        "openid:wx00000000000000a1:oAAAAAAx", "openid:wx00000000000000a1:oAAAAAAy", "openid:wx00000000000000a1:oAAAAAAz",
        "openid:wx00000000000000b2:oBBBBBBx", "openid:wx00000000000000b2:oBBBBBBy",
        "unionid:acme:oUUUUUU1", "unionid:acme:oUUUUUU2", "unionid:acme:oUUUUUU3",
        "account:shop:10086", "account:shop:10087",
        "phone::+8613800000001", "phone::+8613800000002",
    ];

    internal static Arbitrary<Op[]> Ops()
    {
        var observe = Gen.Choose(1, 3)
            .SelectMany(n => Gen.ArrayOf(Gen.Elements(Universe), n))
            .Select(ids => new Op(ids.Distinct().ToArray(), 0));
        var retract = Gen.Choose(0, 50).Select(n => new Op(null, n));
        var op = Gen.Frequency((4, observe), (1, retract));
        return Gen.Choose(1, 40).SelectMany(n => Gen.ArrayOf(op, n)).ToArbitrary();
    }

    [Fact]
    public void Persons_always_equal_a_replay_of_the_accepted_observations_on_sqlite()
    {
        using var folder = new TempFolder();
        var run = 0;
        Prop.ForAll(Ops(), ops =>
        {
            var path = folder.File($"p{Interlocked.Increment(ref run)}.db");
            RunAsync(path, ops).GetAwaiter().GetResult();
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }

    internal static async Task RunAsync(string db, Op[] ops)
    {
        await using var store = await SqlGraphStore.OpenAsync(db, CancellationToken.None);
        var observed = new List<ObservationId>();
        var at = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var op in ops)
        {
            if (op.Ids is not null)
            {
                var result = await store.ObserveAsync(new Observation(op.Ids.Select(Identifier.Parse), "prop", at = at.AddMinutes(1)), CancellationToken.None);
                observed.Add(result.Observation);
            }
            else if (observed.Count > 0)
            {
                var target = observed[op.Retract % observed.Count];
                try
                {
                    await store.RetractAsync(target, CancellationToken.None);
                }
                catch (InvalidOperationException)
                {
                    // Rejected or already retracted: refused, and nothing may change.
                }
            }
        }
        await GraphInvariants.AssertMatchesReplayAsync(store);
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresGraphProperties(PostgresFixture postgres)
{
    [Fact]
    public void Persons_always_equal_a_replay_of_the_accepted_observations_on_postgres()
    {
        Prop.ForAll(GraphProperties.Ops(), o =>
        {
            GraphProperties.RunAsync(postgres.Cluster.CreateDatabaseAsync().GetAwaiter().GetResult(), o).GetAwaiter().GetResult();
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));
    }
}
