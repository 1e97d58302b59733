using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Hub;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// Key lookups may be answered from memory, but never past a commit: two storages over one database stand for two hub
/// instances, and what one revokes or adds the other sees on its very next lookup.
/// </summary>
public abstract class ApiKeyStoreContract
{
    protected abstract Task<string> NewDatabaseAsync();

    private static readonly string Hash = new('a', 64);
    private static readonly string OtherHash = new('b', 64);

    [Fact]
    public async Task A_key_revoked_or_added_by_another_instance_holds_on_the_next_lookup()
    {
        var database = await NewDatabaseAsync();
        await using var a = await TenantStorage.OpenAsync(database, "keys", TimeProvider.System, CancellationToken.None);
        await using var b = await TenantStorage.OpenAsync(database, "keys", TimeProvider.System, CancellationToken.None);
        await b.ApiKeys.AddApiKeyAsync(Hash, "ops", [DataTier.Public, DataTier.Internal], "read", CancellationToken.None);

        // Looked up twice on a (the second may come from memory), then revoked on b.
        for (var i = 0; i < 2; i++)
        {
            (await a.ApiKeys.FindApiKeyAsync(Hash, CancellationToken.None)).Should().NotBeNull();
        }
        (await a.ApiKeys.FindApiKeyAsync(OtherHash, CancellationToken.None)).Should().BeNull();
        (await b.ApiKeys.RevokeApiKeyAsync(Hash[..12], CancellationToken.None)).Should().BeTrue();
        await b.ApiKeys.AddApiKeyAsync(OtherHash, "new", [DataTier.Public], "read", CancellationToken.None);

        (await a.ApiKeys.FindApiKeyAsync(Hash, CancellationToken.None)).Should().BeNull("the revocation was committed before this lookup");
        (await a.ApiKeys.FindApiKeyAsync(OtherHash, CancellationToken.None)).Should().NotBeNull("an unknown key is never remembered as unknown");
    }
}

public sealed class SqliteApiKeyStoreTests : ApiKeyStoreContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File("tenant.db"));

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresApiKeyStoreTests(PostgresFixture postgres) : ApiKeyStoreContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}

/// <summary>
/// PostgreSQL has no cheap commit counter: the key cache is kept by the keys' LISTEN/NOTIFY signal. A live key is
/// answered from memory while nothing is heard; a revocation on another instance is seen once its notification
/// arrives, one of this instance at once; without the listening connection every lookup reads the table.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresApiKeySignalTests(PostgresFixture postgres)
{
    private static readonly string Hash = new('c', 64);

    private static async Task<(TenantStorage Storage, SqlHubStore Keys, PostgresChangeListener Changes)> ListeningAsync(string db)
    {
        var storage = await TenantStorage.OpenAsync(db, "keys", TimeProvider.System, CancellationToken.None);
        var changes = ((PostgresDatabase)((Graph.SqlGraphStore)storage.Graph).Database).Changes;
        await Eventually.TrueAsync(() => changes.IsListening, "the store listens for changes");
        return (storage, (SqlHubStore)storage.ApiKeys, changes);
    }

    /// <summary>Looks the key up until one lookup is answered without reading the table (a notification may still be on its way).</summary>
    private static Task AnsweredFromMemoryAsync(SqlHubStore keys) =>
        Eventually.TrueAsync(async () =>
        {
            var reads = keys.KeyReads;
            (await keys.FindApiKeyAsync(Hash, CancellationToken.None)).Should().NotBeNull();
            return keys.KeyReads == reads;
        }, "a live key is answered from memory while nothing is heard");

    [Fact]
    public async Task A_revocation_on_another_instance_is_seen_once_its_notification_arrives()
    {
        var db = await postgres.Cluster.CreateDatabaseAsync();
        var (a, keys, _) = await ListeningAsync(db);
        await using var _a = a;
        await using var b = await TenantStorage.OpenAsync(db, "keys", TimeProvider.System, CancellationToken.None);
        await b.ApiKeys.AddApiKeyAsync(Hash, "ops", [DataTier.Public], "read", CancellationToken.None);
        await AnsweredFromMemoryAsync(keys);

        (await b.ApiKeys.RevokeApiKeyAsync(Hash[..12], CancellationToken.None)).Should().BeTrue();

        await Eventually.TrueAsync(async () => await keys.FindApiKeyAsync(Hash, CancellationToken.None) is null, "the revocation is heard");
        (await keys.FindApiKeyAsync(Hash, CancellationToken.None)).Should().BeNull("a revoked key is never answered again");
    }

    [Fact]
    public async Task A_revocation_on_this_instance_holds_on_the_very_next_lookup()
    {
        var db = await postgres.Cluster.CreateDatabaseAsync();
        var (a, keys, _) = await ListeningAsync(db);
        await using var _a = a;
        await keys.AddApiKeyAsync(Hash, "ops", [DataTier.Public], "read", CancellationToken.None);
        await AnsweredFromMemoryAsync(keys);

        (await keys.RevokeApiKeyAsync(Hash[..12], CancellationToken.None)).Should().BeTrue();

        (await keys.FindApiKeyAsync(Hash, CancellationToken.None)).Should().BeNull("the process's own write moves the signal before its notification returns");
    }

    [Fact]
    public async Task Without_the_listening_connection_every_lookup_reads_the_table_until_it_is_back()
    {
        var db = await postgres.Cluster.CreateDatabaseAsync();
        var (a, keys, changes) = await ListeningAsync(db);
        await using var _a = a;
        await keys.AddApiKeyAsync(Hash, "ops", [DataTier.Public], "read", CancellationToken.None);
        await AnsweredFromMemoryAsync(keys);

        await using var admin = new Npgsql.NpgsqlConnection(db);
        await admin.OpenAsync();
        await using (var kill = new Npgsql.NpgsqlCommand(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'oneid-listener'", admin))
        {
            await kill.ExecuteNonQueryAsync();
        }
        await Eventually.TrueAsync(() => !changes.IsListening, "the lost connection is noticed");
        // A revocation nobody hears (no NOTIFY): while the listener is down the lookup must read it anyway.
        await using (var revoke = new Npgsql.NpgsqlCommand("UPDATE oneid_keys.hub_api_keys SET revoked = 1", admin))
        {
            (await revoke.ExecuteNonQueryAsync()).Should().Be(1);
        }
        if (!changes.IsListening)
        {
            (await keys.FindApiKeyAsync(Hash, CancellationToken.None)).Should().BeNull("no signal: the table is read");
        }

        await Eventually.TrueAsync(() => changes.IsListening, "the listener comes back");
        (await keys.FindApiKeyAsync(Hash, CancellationToken.None)).Should().BeNull("listening again starts from a fresh read");
    }
}
