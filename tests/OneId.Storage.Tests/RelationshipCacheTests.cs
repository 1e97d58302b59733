using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Relationships;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// A person's relationships may be answered from memory, but never past a write the change signal has carried: two
/// stores over one database stand for two hub instances.
/// </summary>
public abstract class RelationshipCacheContract
{
    protected abstract Task<string> NewDatabaseAsync();

    protected static readonly Identifier OpenId = Identifier.Parse("openid:wx00000000000000b1:oCacheCacheCacheCacheCache01");
    protected static readonly Identifier External = Identifier.Parse("external_userid:ww00000000000000c1:wmCacheCacheCacheCacheCacheCache01");
    protected static readonly DateTimeOffset T0 = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);

    protected static async Task<(StoreDatabase Db, SqlRelationshipStore Store)> OpenAsync(string location)
    {
        var db = StoreDatabase.Open(location, "rels");
        return (db, await SqlRelationshipStore.OpenAsync(db, TimeProvider.System, CancellationToken.None));
    }

    protected static Task<PersonRelationships> OfAsync(SqlRelationshipStore store) => store.GetAsync([OpenId, External], CancellationToken.None);

    [Fact]
    public async Task A_follow_or_contact_written_on_this_instance_holds_on_the_very_next_lookup()
    {
        var (db, store) = await OpenAsync(await NewDatabaseAsync());
        await using var _ = db;
        await store.RecordFollowsAsync([new FollowChange(OpenId, true, T0)], CancellationToken.None);
        for (var i = 0; i < 2; i++)
        {
            (await OfAsync(store)).Follows.Should().ContainSingle().Which.Following.Should().BeTrue();
        }

        await store.RecordFollowsAsync([new FollowChange(OpenId, false, T0.AddMinutes(1))], CancellationToken.None);
        (await OfAsync(store)).Follows.Should().ContainSingle().Which.Following.Should().BeFalse("the unfollow returned before this lookup");
        await store.RecordContactsAsync([new ContactChange(External, "zhangsan", true, T0.AddMinutes(2))], CancellationToken.None);
        (await OfAsync(store)).Contacts.Should().ContainSingle().Which.Member.Should().Be("zhangsan");
    }
}

public sealed class SqliteRelationshipCacheTests : RelationshipCacheContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File("tenant.db"));

    [Fact]
    public async Task A_write_of_another_instance_holds_on_the_next_lookup_and_unchanged_answers_come_from_memory()
    {
        var location = await NewDatabaseAsync();
        var (dbA, a) = await OpenAsync(location);
        await using var _a = dbA;
        var (dbB, b) = await OpenAsync(location);
        await using var _b = dbB;
        await b.RecordFollowsAsync([new FollowChange(OpenId, true, T0)], CancellationToken.None);
        (await OfAsync(a)).Follows.Should().ContainSingle().Which.Following.Should().BeTrue();
        var reads = a.RelationshipReads;
        (await OfAsync(a)).Follows.Should().ContainSingle();
        a.RelationshipReads.Should().Be(reads, "nothing was committed since the last read");

        await b.RecordFollowsAsync([new FollowChange(OpenId, false, T0.AddMinutes(1))], CancellationToken.None);

        (await OfAsync(a)).Follows.Should().ContainSingle().Which.Following.Should().BeFalse("data_version moved with the other instance's commit");
    }

    [Fact]
    public async Task A_commit_that_touches_no_relationship_keeps_the_cache_and_any_writer_of_the_tables_moves_it()
    {
        var location = await NewDatabaseAsync();
        var (db, store) = await OpenAsync(location);
        await using var _ = db;
        await store.RecordFollowsAsync([new FollowChange(OpenId, true, T0)], CancellationToken.None);
        (await OfAsync(store)).Follows.Should().ContainSingle();
        await using var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.ChangeExtension(location, null)}.rels.db"); // the tenant's own file
        await other.OpenAsync();
        async Task ExecuteAsync(string sql)
        {
            await using var cmd = other.CreateCommand();
            cmd.CommandText = sql;
            await cmd.ExecuteNonQueryAsync();
        }
        await ExecuteAsync("CREATE TABLE unrelated(x INTEGER); INSERT INTO unrelated VALUES (1)");
        var reads = store.RelationshipReads;

        (await OfAsync(store)).Follows.Should().ContainSingle();
        store.RelationshipReads.Should().Be(reads, "a commit to another table changes no relationship");

        // A writer that is not this store (another build, a hand-run statement): the tables' triggers count it.
        await ExecuteAsync("UPDATE rel_follows SET following = 0");
        (await OfAsync(store)).Follows.Should().ContainSingle().Which.Following.Should().BeFalse();
    }

    public void Dispose() => _folder.Dispose();
}

/// <summary>
/// PostgreSQL: the relationships' LISTEN/NOTIFY signal keeps the cache. Another instance's write is seen once its
/// notification arrives; without the listening connection every lookup reads the tables.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresRelationshipCacheTests(PostgresFixture postgres) : RelationshipCacheContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();

    private static async Task<(StoreDatabase Db, SqlRelationshipStore Store, PostgresChangeListener Changes)> ListeningAsync(string location)
    {
        var (db, store) = await OpenAsync(location);
        var changes = ((PostgresDatabase)db).Changes;
        await Eventually.TrueAsync(() => changes.IsListening, "the store listens for changes");
        return (db, store, changes);
    }

    private static Task AnsweredFromMemoryAsync(SqlRelationshipStore store) =>
        Eventually.TrueAsync(async () =>
        {
            var reads = store.RelationshipReads;
            await OfAsync(store);
            return store.RelationshipReads == reads;
        }, "relationships are answered from memory while nothing is heard");

    [Fact]
    public async Task A_write_of_another_instance_is_seen_once_its_notification_arrives()
    {
        var location = await NewDatabaseAsync();
        var (dbA, a, _) = await ListeningAsync(location);
        await using var _a = dbA;
        var (dbB, b) = await OpenAsync(location);
        await using var _b = dbB;
        await b.RecordFollowsAsync([new FollowChange(OpenId, true, T0)], CancellationToken.None);
        await Eventually.TrueAsync(async () => (await OfAsync(a)).Follows.Count == 1, "the follow is heard");
        await AnsweredFromMemoryAsync(a);

        await b.RecordContactsAsync([new ContactChange(External, "zhangsan", true, T0.AddMinutes(1))], CancellationToken.None);

        await Eventually.TrueAsync(async () => (await OfAsync(a)).Contacts.Count == 1, "the contact is heard");
        (await OfAsync(a)).Contacts.Should().ContainSingle().Which.Member.Should().Be("zhangsan");
    }

    [Fact]
    public async Task Without_the_listening_connection_every_lookup_reads_the_tables_until_it_is_back()
    {
        var location = await NewDatabaseAsync();
        var (db, store, changes) = await ListeningAsync(location);
        await using var _ = db;
        await store.RecordFollowsAsync([new FollowChange(OpenId, true, T0)], CancellationToken.None);
        (await OfAsync(store)).Follows.Should().ContainSingle();
        await AnsweredFromMemoryAsync(store);

        await using var admin = new Npgsql.NpgsqlConnection(location);
        await admin.OpenAsync();
        await using (var kill = new Npgsql.NpgsqlCommand(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'oneid-listener'", admin))
        {
            await kill.ExecuteNonQueryAsync();
        }
        await Eventually.TrueAsync(() => !changes.IsListening, "the lost connection is noticed");
        // An unfollow nobody hears (no NOTIFY): while the listener is down the lookup must read it anyway.
        await using (var unfollow = new Npgsql.NpgsqlCommand("UPDATE oneid_rels.rel_follows SET following = 0", admin))
        {
            (await unfollow.ExecuteNonQueryAsync()).Should().Be(1);
        }
        if (!changes.IsListening)
        {
            (await OfAsync(store)).Follows.Should().ContainSingle().Which.Following.Should().BeFalse("no signal: the tables are read");
        }

        await Eventually.TrueAsync(() => changes.IsListening, "the listener comes back");
        (await OfAsync(store)).Follows.Should().ContainSingle().Which.Following.Should().BeFalse("listening again starts from a fresh read");
    }
}
