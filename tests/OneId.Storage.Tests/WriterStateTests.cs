using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// SQLite's writer keeps each identifier key's owner between its transactions (<see cref="WriterState"/>): a hint that
/// must never give an answer the database would not — after another writer, a rolled-back batch, two keys with one
/// hash, or once its memory bound is reached.
/// </summary>
public sealed class WriterStateTests
{
    // A hub keeps no writer state by default; these tests open the store as an import does.
    private static readonly SqliteTuning WithState = SqliteTuning.Default with { WriterStateMegabytes = 64 };

    private static readonly DateTimeOffset At = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Identifier U(string who) => Identifier.Parse($"unionid:acme:o{who.PadRight(27, 'u')}");

    private static Identifier Mp(string who) => Identifier.Parse($"openid:wx00000000000000aa:o{who.PadRight(27, 'x')}");

    private static Identifier Oa(string who) => Identifier.Parse($"openid:wx00000000000000bb:o{who.PadRight(27, 'x')}");

    private static Observation Obs(params Identifier[] ids) => new(ids, "test", At);

    private static async Task<PersonId> Observe(SqlGraphStore store, params Identifier[] ids) =>
        (await store.ObserveAsync(Obs(ids), CancellationToken.None)).Person ?? throw new InvalidOperationException("no person");

    private static async Task<PersonId?> Owner(SqlGraphStore store, Identifier id) =>
        (await store.FindAsync(id, CancellationToken.None))?.Id;

    [Fact]
    public async Task A_store_opened_with_the_hubs_defaults_keeps_no_writer_state()
    {
        using var folder = new TempFolder();
        await using var store = await SqlGraphStore.OpenAsync(folder.File("g.db"), CancellationToken.None);

        store.WriterState.Should().BeNull("a hub's first write would otherwise scan the whole graph inside its transaction");
        store.WriterStateCounters.Should().BeNull();
    }

    [Fact]
    public async Task The_writer_state_answers_new_keys_without_a_lookup()
    {
        using var folder = new TempFolder();
        await using var store = await SqlGraphStore.OpenAsync(folder.File("g.db"), CancellationToken.None, tuning: WithState);

        var alice = await Observe(store, Mp("alice"), U("alice"));
        var again = await Observe(store, Oa("alice"), U("alice"));

        again.Should().Be(alice);
        store.WriterStateCounters!.Value.KnownAbsent.Should().BeGreaterThan(0, "a graph started empty knows every key it has not written is new");
        store.WriterState!.OwnerHint(store.WriterState.HashOf(Oa("alice").ToString())).Should().Be(alice.Value);
    }

    /// <summary>Another connection (another store, in this process or not) writes between two batches of the first.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_write_by_another_store_between_two_batches_is_not_missed(bool sameDatabase)
    {
        using var folder = new TempFolder();
        await using var first = await SqlGraphStore.OpenAsync(folder.File("g.db"), CancellationToken.None, tuning: WithState);
        // The same database object shares the first's connection pool and usually its handle (data_version does not
        // move for the handle's own commits); another one opens its own.
        await using var second = sameDatabase
            ? await SqlGraphStore.OpenAsync(first.Database, CancellationToken.None)
            : await SqlGraphStore.OpenAsync(folder.File("g.db"), CancellationToken.None, tuning: WithState);

        var a = await Observe(first, U("a"));
        var b = await Observe(first, Mp("b"));

        // Behind the first store's back: a new key, and a merge of a and b.
        var c = await Observe(second, U("c"), Mp("c"));
        var merged = await Observe(second, U("a"), Mp("b"));
        new[] { a, b }.Should().Contain(merged);

        // The first store's state said Mp("c") was absent and Mp("b") was b's: both are stale now.
        (await Observe(first, Mp("c"), Oa("c"))).Should().Be(c);
        (await Observe(first, Mp("b"), Oa("b"))).Should().Be(merged);
        (await Owner(first, Oa("b"))).Should().Be(merged);
        (await Owner(first, U("a"))).Should().Be(merged);
        first.WriterStateCounters!.Value.Drops.Should().BeGreaterThan(0);
    }

    /// <summary>Another process: its own handle, so only <c>PRAGMA data_version</c> on the writer's handle can tell.</summary>
    [Fact]
    public async Task A_commit_by_another_process_between_two_batches_is_not_missed()
    {
        using var folder = new TempFolder();
        var path = folder.File("g.db");
        await using var store = await SqlGraphStore.OpenAsync(path, CancellationToken.None, tuning: WithState);
        var a = await Observe(store, U("a"));

        await using (var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await other.OpenAsync();
            await using var cmd = other.CreateCommand();
            cmd.CommandText = $"""
                INSERT INTO persons (id, created_at) VALUES (100, 0);
                INSERT INTO identifiers (key, person_id) VALUES ('{Mp("x")}', 100);
                UPDATE persons SET merged_into = 100 WHERE id = {a.Value};
                """;
            await cmd.ExecuteNonQueryAsync();
        }

        // The state said Mp("x") was absent and U("a") was a's.
        (await Observe(store, Mp("x"), Oa("x"))).Should().Be(new PersonId(100));
        (await Observe(store, U("a"), Oa("x"))).Should().Be(new PersonId(100));
    }

    [Fact]
    public async Task A_retraction_through_the_same_store_drops_the_state()
    {
        using var folder = new TempFolder();
        await using var store = await SqlGraphStore.OpenAsync(folder.File("g.db"), CancellationToken.None, tuning: WithState);

        var link = await store.ObserveAsync(Obs(U("a"), Mp("a")), CancellationToken.None);
        await store.RetractAsync(link.Observation, CancellationToken.None);

        // Retracted: U("a") is nobody's any more; the state must not answer its old owner.
        (await Owner(store, U("a"))).Should().BeNull();
        var again = await Observe(store, U("a"), Mp("a2"));
        (await Owner(store, Mp("a2"))).Should().Be(again);
    }

    private sealed record Boom : ObservationAttachment;

    private sealed class FailingWriter : IAttachmentWriter
    {
        public bool Writes(ObservationAttachment attachment) => attachment is Boom;

        public Task WriteAsync(AttachmentTransaction transaction, IReadOnlyList<(ObservationAttachment Attachment, ObserveResult Result)> items, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the attachment's write failed");
    }

    [Fact]
    public async Task A_rolled_back_batch_leaves_no_trace_in_the_state()
    {
        using var folder = new TempFolder();
        await using var store = await SqlGraphStore.OpenAsync(folder.File("g.db"), CancellationToken.None, tuning: WithState);
        store.AddAttachmentWriter(new FailingWriter());
        var a = await Observe(store, U("a"));
        var b = await Observe(store, Mp("b"));

        // A batch that would create a person for U("n") and merge a and b, rolled back by its attachment.
        var failing = () => store.ObserveManyAsync([Obs(U("n"), Oa("n")), Obs(U("a"), Mp("b")) with { Attachment = new Boom() }], CancellationToken.None);
        await failing.Should().ThrowAsync<InvalidOperationException>();

        var state = store.WriterState!;
        state.OwnerHint(state.HashOf(U("n").ToString())).Should().Be(0);
        state.OwnerHint(state.HashOf(Mp("b").ToString())).Should().NotBe(a.Value);
        (await Owner(store, U("a"))).Should().Be(a);
        (await Observe(store, Mp("b"), Oa("b"))).Should().Be(b, "the merge never happened");
        (await Observe(store, U("a"), Oa("a"))).Should().Be(a);
        var n = await Observe(store, U("n"));
        new[] { a, b }.Should().NotContain(n);
    }

    [Fact]
    public async Task Keys_that_share_a_hash_are_each_found_with_their_own_owner()
    {
        using var folder = new TempFolder();
        await using var store = await SqlGraphStore.OpenAsync(folder.File("g.db"), CancellationToken.None, tuning: WithState);
        // Every key has the same hash: every hint but one is wrong.
        store.UseWriterState(new WriterState(64L << 20, _ => 0x1234_5678_9ABC_DEF0UL));

        var a = await Observe(store, U("a"));
        var b = await Observe(store, Mp("b"));
        (await Observe(store, U("a"), Oa("a"))).Should().Be(a);
        (await Observe(store, Mp("b"))).Should().Be(b);
        var c = await Observe(store, U("c"));
        new[] { a, b }.Should().NotContain(c, "a hash hit is not an owner until the person is found to hold the key");
        (await Observe(store, Oa("a"))).Should().Be(a);
        var merged = await Observe(store, U("a"), Mp("b"));
        (await Observe(store, Oa("a"))).Should().Be(merged);
        (await Observe(store, Mp("b"))).Should().Be(merged);
        (await Observe(store, U("c"))).Should().Be(c);
        store.WriterStateCounters!.Value.Collisions.Should().BeGreaterThan(0);
        await GraphInvariants.AssertMatchesReplayAsync(store);
    }

    [Fact]
    public async Task Past_its_memory_bound_the_state_is_dropped_and_lookups_go_to_SQL()
    {
        using var folder = new TempFolder();
        await using var store = await SqlGraphStore.OpenAsync(folder.File("g.db"), CancellationToken.None, tuning: WithState);
        // Room for the first tables (8 + 4 KiB), not for their first growth.
        store.UseWriterState(new WriterState(16 << 10));

        var persons = new List<PersonId>();
        for (var batch = 0; batch < 10; batch++)
        {
            var results = await store.ObserveManyAsync(Enumerable.Range(batch * 200, 200).Select(i => Obs(U($"p{i}"))).ToArray(), CancellationToken.None);
            persons.AddRange(results.Select(r => r.Person!.Value));
        }

        store.WriterStateCounters!.Value.Overflowed.Should().BeTrue();
        persons.Distinct().Should().HaveCount(2000);
        for (var i = 0; i < 2000; i += 97)
        {
            (await Observe(store, U($"p{i}"), Mp($"p{i}"))).Should().Be(persons[i]);
        }
        await GraphInvariants.AssertMatchesReplayAsync(store);
    }
}
