using FluentAssertions;
using Npgsql;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// The graph version on PostgreSQL is kept while the LISTEN connection hears nothing: a write of this process is
/// seen at once, one of another process as soon as its notification arrives, and without the connection every read
/// goes to the database again.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresChangeSignalTests(PostgresFixture postgres)
{
    private static Observation Obs(string who) =>
        new([Identifier.Parse($"openid:wx00000000000000a1:o{who.PadRight(27, 'x')}")], "test", new DateTimeOffset(2024, 5, 1, 0, 0, 0, TimeSpan.Zero));

    private static async Task<SqlGraphStore> ListeningAsync(string db)
    {
        var store = await SqlGraphStore.OpenAsync(db, CancellationToken.None);
        var changes = ((PostgresDatabase)store.Database).Changes;
        await Eventually.TrueAsync(() => Task.FromResult(changes.IsListening), "the store listens for graph changes");
        return store;
    }

    [Fact]
    public async Task A_write_of_this_process_is_seen_by_the_next_version_read()
    {
        var db = await postgres.Cluster.CreateDatabaseAsync();
        await using var store = await ListeningAsync(db);
        var before = await store.GetVersionAsync(CancellationToken.None);
        (await store.GetVersionAsync(CancellationToken.None)).Should().Be(before);

        await store.ObserveAsync(Obs("same"), CancellationToken.None);

        (await store.GetVersionAsync(CancellationToken.None)).Should().NotBe(before, "the process's own write moves the signal before its notification returns");
    }

    [Fact]
    public async Task A_write_of_another_store_instance_reaches_the_listener()
    {
        var db = await postgres.Cluster.CreateDatabaseAsync();
        await using var reader = await ListeningAsync(db);
        await using var writer = await SqlGraphStore.OpenAsync(db, CancellationToken.None);
        var before = await reader.GetVersionAsync(CancellationToken.None);

        var written = await writer.ObserveAsync(Obs("other"), CancellationToken.None);

        await Eventually.TrueAsync(async () => (await reader.GetVersionAsync(CancellationToken.None)).Events >= written.Events[^1].Sequence,
            "the other instance's commit is heard");
        (await reader.GetVersionAsync(CancellationToken.None)).Should().NotBe(before);
    }

    [Fact]
    public async Task Without_the_listening_connection_every_read_goes_to_the_database_until_it_is_back()
    {
        var db = await postgres.Cluster.CreateDatabaseAsync();
        await using var reader = await ListeningAsync(db);
        await using var writer = await SqlGraphStore.OpenAsync(db, CancellationToken.None);
        var changes = ((PostgresDatabase)reader.Database).Changes;
        await reader.GetVersionAsync(CancellationToken.None);

        await using (var admin = new NpgsqlConnection(db))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'oneid-listener' AND query LIKE 'LISTEN%'", admin);
            await kill.ExecuteNonQueryAsync();
        }
        await Eventually.TrueAsync(() => Task.FromResult(!changes.IsListening), "the lost connection is noticed");
        // Nobody hears this commit, and the reader must not need to: it reads the version again.
        var written = await writer.ObserveAsync(Obs("unheard"), CancellationToken.None);
        if (!changes.IsListening)
        {
            (await reader.GetVersionAsync(CancellationToken.None)).Events.Should().Be(written.Events[^1].Sequence);
        }

        await Eventually.TrueAsync(() => Task.FromResult(changes.IsListening), "the listener comes back");
        var again = await writer.ObserveAsync(Obs("heard"), CancellationToken.None);
        await Eventually.TrueAsync(async () => (await reader.GetVersionAsync(CancellationToken.None)).Events == again.Events[^1].Sequence, "heard again");
    }
}
