using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// Several <c>oneid import</c> processes write one tenant at once, with small transactions: two on the same persons
/// whose lines merge what the other created, one re-running a file another process is importing, one on persons
/// nobody else touches. Meanwhile this test tails the event log as a webhook worker does. Afterwards no identifier
/// sits in two persons, the persons equal a replay of the accepted observations, and the event log is gap-free,
/// was never seen with a gap while it was written, and replays to the same persons.
/// </summary>
public abstract class RacingImportContract
{
    private const string AppA = "wx00000000000000a1";
    private const string AppB = "wx00000000000000b2";
    private const string AppC = "wx00000000000000c3";
    private const string AppD = "wx00000000000000d4";
    protected abstract Task<string> NewDatabaseAsync();

    /// <summary>Persons per group: enough lines that the processes' imports overlap in time (fewer on SQLite, whose writers queue anyway).</summary>
    protected abstract int Persons { get; }

    private static string OpenId(string app, int who) => $"openid:{app}:o{who.ToString("D6", System.Globalization.CultureInfo.InvariantCulture).PadRight(27, 'x')}";

    private static string UnionId(int who) => $"unionid:acme:o{who.ToString("D6", System.Globalization.CultureInfo.InvariantCulture).PadRight(27, 'u')}";

    private static string Line(string source, params string[] ids) =>
        $$"""{"ids":[{{string.Join(',', ids.Select(i => $"\"{i}\""))}}],"source":"{{source}}","at":"2024-05-01T10:00:00Z"}""";

    private static string[] Shuffled(IEnumerable<string> lines, int seed)
    {
        var array = lines.ToArray();
        new Random(seed).Shuffle(array);
        return array;
    }

    [StoreFact]
    public async Task Import_processes_racing_over_the_same_persons_merge_correctly_and_publish_a_gap_free_log()
    {
        using var folder = new TempFolder();
        var db = await NewDatabaseAsync();
        var shared = Enumerable.Range(0, Persons).ToArray();
        var apart = Enumerable.Range(10_000, Persons).ToArray();
        // First: one person per app login, then the unionid arrives with the second app (two persons until then).
        var first = Shuffled(shared.SelectMany(k => new[] { Line("first", OpenId(AppA, k)), Line("first", OpenId(AppB, k), UnionId(k)) }), 1);
        // Second: the same people seen from the other side, merging the persons the first file creates, in another order.
        var second = Shuffled(shared.SelectMany(k => new[] { Line("second", OpenId(AppA, k), UnionId(k)), Line("second", OpenId(AppC, k)), Line("second", OpenId(AppC, k), OpenId(AppB, k)) }), 2);
        var third = Shuffled(apart.SelectMany(k => new[] { Line("third", OpenId(AppA, k)), Line("third", OpenId(AppB, k), UnionId(k)), Line("third", OpenId(AppA, k), UnionId(k)) }), 3);
        // Contradictions racing for one person: two files give the same person different openids of one app; whichever
        // comes second is refused, whatever the order, so exactly one of each pair is a conflict.
        var contested = shared.Where(k => k % 3 == 0).ToArray();
        first = [.. first, .. contested.Select(k => Line("first", OpenId(AppA, k), OpenId(AppD, k)))];
        second = [.. second, .. contested.Select(k => Line("second", OpenId(AppA, k), OpenId(AppD, k + 50_000)))];
        var files = new[] { ("first", first), ("second", second), ("third", third) }
            .ToDictionary(f => f.Item1, f => { var path = folder.File(f.Item1 + ".jsonl"); File.WriteAllLines(path, f.Item2); return path; });

        await using var store = await SqlGraphStore.OpenAsync(db, CancellationToken.None);
        using var done = new CancellationTokenSource();
        var tail = TailAsync(store, done.Token);
        // "first" and "second" twice: the same lines race to be applied once.
        var imports = await Task.WhenAll(new[] { "first", "second", "first", "third", "second" }
            .Select(f => OneIdCli.RunAsync("import", "--db", db, "--batch-size", "16", files[f])));
        await done.CancelAsync();
        var seenWhileWriting = await tail;

        imports.Should().OnlyContain(r => r.ExitCode == 0, string.Join("\n", imports.Select(r => r.StdErr)));
        var stats = await store.GetStatsAsync(CancellationToken.None);
        stats.Conflicts.Should().Be(contested.Length, "of two contradicting lines exactly one is refused");
        stats.Observations.Should().Be(first.Length + second.Length + third.Length - contested.Length, "each line is applied once, also when two processes race with it");
        stats.Persons.Should().Be(2 * Persons);
        foreach (var k in shared)
        {
            var person = (await store.FindAsync(Identifier.Parse(UnionId(k)), CancellationToken.None))!;
            person.Identifiers.Select(i => i.ToString()).Where(i => !i.StartsWith("openid:" + AppD, StringComparison.Ordinal))
                .Should().BeEquivalentTo([OpenId(AppA, k), OpenId(AppB, k), OpenId(AppC, k), UnionId(k)]);
            person.Identifiers.Count(i => i.Namespace == AppD).Should().Be(contested.Contains(k) ? 1 : 0);
        }
        await GraphInvariants.AssertMatchesReplayAsync(store);

        var log = await store.ReadEventsAsync(0, 10_000, CancellationToken.None);
        log.Select(e => e.Sequence).Should().Equal(Enumerable.Range(1, log.Count).Select(i => (long)i), "the log is gap-free");
        (await store.GetVersionAsync(CancellationToken.None)).Events.Should().Be(log.Count);
        seenWhileWriting.Should().BeLessThanOrEqualTo(log.Count);
        var (_, persons) = await GraphInvariants.ReadAllAsync(store);
        GraphInvariants.Partition(Replay(log).Values).Should().Equal(GraphInvariants.Partition(persons.Values.Select(ids => ids.Select(i => i.ToString()))),
            "the event log, applied in its order, gives the persons the store holds: no event is missing or out of order");
    }

    /// <summary>Tails the log as the outbox workers do; fails when a page ever skips a sequence number. Answers how far it got.</summary>
    private static async Task<long> TailAsync(SqlGraphStore store, CancellationToken stop)
    {
        long cursor = 0;
        while (true)
        {
            var stopping = stop.IsCancellationRequested;
            var page = await store.ReadEventsAsync(cursor, 1_000, CancellationToken.None);
            foreach (var e in page)
            {
                e.Sequence.Should().Be(cursor + 1, "a reader must never see an event before the ones it follows");
                cursor = e.Sequence;
            }
            if (stopping && page.Count == 0)
            {
                return cursor;
            }
            if (page.Count == 0)
            {
                await Task.Delay(10, CancellationToken.None);
            }
        }
    }

    /// <summary>Persons as the event log tells them: created with identifiers, linked more, merged into a survivor.</summary>
    private static Dictionary<long, HashSet<string>> Replay(IEnumerable<GraphEvent> log)
    {
        var persons = new Dictionary<long, HashSet<string>>();
        foreach (var e in log)
        {
            switch (e.Kind)
            {
                case GraphEventKind.Created:
                    persons.Should().NotContainKey(e.Person!.Value.Value);
                    persons[e.Person!.Value.Value] = e.Identifiers.Select(i => i.ToString()).ToHashSet(StringComparer.Ordinal);
                    break;
                case GraphEventKind.Linked:
                    persons[e.Person!.Value.Value].UnionWith(e.Identifiers.Select(i => i.ToString()));
                    break;
                case GraphEventKind.Conflict:
                    break;
                case GraphEventKind.Merged:
                    foreach (var other in e.Others)
                    {
                        persons[e.Person!.Value.Value].UnionWith(persons[other.Value]);
                        persons.Remove(other.Value);
                    }
                    break;
                default:
                    throw new Xunit.Sdk.XunitException($"unexpected event {e.Kind}");
            }
        }
        return persons;
    }
}

public sealed class SqliteRacingImportTests : RacingImportContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File("graph.db"));

    protected override int Persons => 150;

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresRacingImportTests(PostgresFixture postgres) : RacingImportContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();

    // With fewer lines the processes' imports hardly overlap: a store without person locks passed at 150.
    protected override int Persons => 600;
}
