using FluentAssertions;
using OneId.Storage;
using OneId.Storage.Secrets;
using OneId.Storage.Tokens;
using OneId.Testing;
using OneId.WeChat.Ids;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Tokens;

/// <summary>What every <see cref="ITokenStore"/> must do; run against memory, SQLite and PostgreSQL.</summary>
public abstract class TokenStoreContract
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 2, 0, 0, TimeSpan.Zero);
    private static readonly AppId Component = AppId.Parse("wxc0c0c0c0c0c0c001");
    private static readonly AppId Authorizer = AppId.Parse("wxa0a0a0a0a0a0a006");

    protected abstract Task<ITokenStore> NewStoreAsync();

    [Fact]
    public async Task A_lease_is_exclusive_until_it_expires_or_is_released()
    {
        var store = await NewStoreAsync();

        var a = await store.TryAcquireLeaseAsync("app:x", "A", Now, TimeSpan.FromSeconds(30), default);
        var b = await store.TryAcquireLeaseAsync("app:x", "B", Now.AddSeconds(10), TimeSpan.FromSeconds(30), default);
        var again = await store.TryAcquireLeaseAsync("app:x", "A", Now.AddSeconds(10), TimeSpan.FromSeconds(30), default);
        var other = await store.TryAcquireLeaseAsync("app:y", "B", Now, TimeSpan.FromSeconds(30), default);
        var afterExpiry = await store.TryAcquireLeaseAsync("app:x", "B", Now.AddSeconds(41), TimeSpan.FromSeconds(30), default);

        a.Should().NotBeNull();
        b.Should().BeNull();
        again.Should().NotBeNull("the holder may renew");
        other.Should().NotBeNull("leases are per key");
        afterExpiry!.Owner.Should().Be("B");

        await store.ReleaseLeaseAsync(a!, default); // A lost it already: releasing must not free B's lease
        (await store.TryAcquireLeaseAsync("app:x", "C", Now.AddSeconds(42), TimeSpan.FromSeconds(30), default)).Should().BeNull();
        await store.ReleaseLeaseAsync(afterExpiry, default);
        (await store.TryAcquireLeaseAsync("app:x", "C", Now.AddSeconds(42), TimeSpan.FromSeconds(30), default)).Should().NotBeNull();
    }

    [Fact]
    public async Task Concurrent_acquirers_get_exactly_one_lease()
    {
        var store = await NewStoreAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => store.TryAcquireLeaseAsync("app:race", "owner" + i, Now, TimeSpan.FromSeconds(30), default)));

        results.Count(r => r is not null).Should().Be(1);
    }

    [Fact]
    public async Task Saving_a_token_releases_the_lease_and_a_lost_lease_cannot_save()
    {
        var store = await NewStoreAsync();
        var lease = (await store.TryAcquireLeaseAsync("app:x", "A", Now, TimeSpan.FromSeconds(30), default))!;
        var token = new StoredToken("app:x", "TOKEN-1", Now, Now.AddHours(2), "2026-11-22", 1, Now);

        (await store.SaveTokenAsync(lease, token, default)).Should().BeTrue();
        (await store.GetTokenAsync("app:x", default)).Should().Be(token);
        var next = (await store.TryAcquireLeaseAsync("app:x", "B", Now, TimeSpan.FromSeconds(30), default))!;
        next.Should().NotBeNull("saving released A's lease");

        (await store.SaveTokenAsync(lease, token with { Value = "STALE" }, default)).Should().BeFalse();
        (await store.GetTokenAsync("app:x", default))!.Value.Should().Be("TOKEN-1");
        (await store.SaveTokenAsync(next, token with { Value = "TOKEN-2", ForcedDay = null, ForcedCount = 0, LastForcedAt = null }, default)).Should().BeTrue();
        (await store.GetTokenAsync("app:x", default))!.Value.Should().Be("TOKEN-2");
        (await store.GetTokenAsync("app:none", default)).Should().BeNull();
    }

    [Fact]
    public async Task Only_the_newest_verify_ticket_is_kept()
    {
        var store = await NewStoreAsync();

        (await store.SaveVerifyTicketAsync(new ComponentVerifyTicket(Component, "ticket@@@2", Now.AddMinutes(10)), default)).Should().BeTrue();
        (await store.SaveVerifyTicketAsync(new ComponentVerifyTicket(Component, "ticket@@@1", Now), default)).Should().BeFalse("a newer ticket is stored");

        (await store.GetVerifyTicketAsync(Component, default))!.Ticket.Should().Be("ticket@@@2");
        (await store.GetVerifyTicketAsync(Authorizer, default)).Should().BeNull();
    }

    [Fact]
    public async Task Authorizer_refresh_tokens_are_kept_until_the_authorizer_is_deleted()
    {
        var store = await NewStoreAsync();
        var key = TokenKey.Authorizer(Component, Authorizer).StoreKey;
        await store.SaveAuthorizerRefreshTokenAsync(Component, Authorizer, "refresh@@@1", default);
        await store.SaveAuthorizerRefreshTokenAsync(Component, Authorizer, "refresh@@@2", default);
        var lease = (await store.TryAcquireLeaseAsync(key, "A", Now, TimeSpan.FromSeconds(30), default))!;
        await store.SaveTokenAsync(lease, new StoredToken(key, "AUTH-TOKEN", Now, Now.AddHours(2)), default);

        (await store.GetAuthorizerRefreshTokenAsync(Component, Authorizer, default)).Should().Be("refresh@@@2");
        await store.DeleteAuthorizerAsync(Component, Authorizer, default);

        (await store.GetAuthorizerRefreshTokenAsync(Component, Authorizer, default)).Should().BeNull();
        (await store.GetTokenAsync(key, default)).Should().BeNull();
    }
}

public sealed class InMemoryTokenStoreTests : TokenStoreContract
{
    protected override Task<ITokenStore> NewStoreAsync() => Task.FromResult<ITokenStore>(new InMemoryTokenStore());
}

/// <summary>What the SQL stores add: secrets encrypted at rest with the data key, each bound to its row.</summary>
public abstract class SqlTokenStoreContract : TokenStoreContract
{
    private static readonly DateTimeOffset At = new(2026, 11, 22, 2, 0, 0, TimeSpan.Zero);
    private static readonly AppId Platform = AppId.Parse("wxc0c0c0c0c0c0c001");
    private static readonly AppId Authorized = AppId.Parse("wxa0a0a0a0a0a0a006");
    private static readonly DataProtector Key = new(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    protected abstract Task<StoreDatabase> NewDatabaseAsync();

    protected override async Task<ITokenStore> NewStoreAsync() => await SqlTokenStore.OpenAsync(await NewDatabaseAsync(), Key, default);

    private static async Task<List<string>> RawSecretsAsync(StoreDatabase db)
    {
        await using var connection = await db.OpenConnectionAsync(default);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT value FROM wechat_tokens UNION ALL SELECT ticket FROM wechat_verify_tickets UNION ALL SELECT refresh_token FROM wechat_authorizers";
        var values = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }
        return values;
    }

    private static async Task SaveAllAsync(SqlTokenStore store)
    {
        var lease = (await store.TryAcquireLeaseAsync("app:wxa0a0a0a0a0a0a006", "A", At, TimeSpan.FromSeconds(30), default))!;
        await store.SaveTokenAsync(lease, new StoredToken("app:wxa0a0a0a0a0a0a006", "ACCESS-TOKEN-SECRET", At, At.AddHours(2)), default);
        await store.SaveVerifyTicketAsync(new ComponentVerifyTicket(Platform, "ticket@@@SECRET", At), default);
        await store.SaveAuthorizerRefreshTokenAsync(Platform, Authorized, "refreshtoken@@@SECRET", default);
    }

    [Fact]
    public async Task Tokens_tickets_and_refresh_tokens_are_stored_encrypted_and_another_data_key_reads_nothing()
    {
        var db = await NewDatabaseAsync();
        var store = await SqlTokenStore.OpenAsync(db, Key, default);
        await SaveAllAsync(store);

        var raw = await RawSecretsAsync(db);
        raw.Should().HaveCount(3).And.OnlyContain(v => v.StartsWith("v1.", StringComparison.Ordinal) && !v.Contains("SECRET"));
        (await store.GetTokenAsync("app:wxa0a0a0a0a0a0a006", default))!.Value.Should().Be("ACCESS-TOKEN-SECRET");
        (await store.GetVerifyTicketAsync(Platform, default))!.Ticket.Should().Be("ticket@@@SECRET");
        (await store.GetAuthorizerRefreshTokenAsync(Platform, Authorized, default)).Should().Be("refreshtoken@@@SECRET");

        var otherKey = await SqlTokenStore.OpenAsync(db, new DataProtector(Enumerable.Repeat((byte)7, 32).ToArray()), default);
        (await otherKey.GetTokenAsync("app:wxa0a0a0a0a0a0a006", default)).Should().BeNull("a token that does not decrypt is fetched again");
        (await otherKey.GetVerifyTicketAsync(Platform, default)).Should().BeNull();
        (await otherKey.GetAuthorizerRefreshTokenAsync(Platform, Authorized, default)).Should().BeNull();
    }

    [Fact]
    public async Task A_secret_copied_into_another_row_does_not_decrypt_there()
    {
        var db = await NewDatabaseAsync();
        var store = await SqlTokenStore.OpenAsync(db, Key, default);
        await SaveAllAsync(store);
        await store.SaveVerifyTicketAsync(new ComponentVerifyTicket(Authorized, "ticket@@@OTHER", At), default);
        await using (var connection = await db.OpenConnectionAsync(default))
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "UPDATE wechat_verify_tickets SET ticket = (SELECT refresh_token FROM wechat_authorizers)";
            await cmd.ExecuteNonQueryAsync();
        }

        (await store.GetVerifyTicketAsync(Platform, default)).Should().BeNull();
    }

    [Fact]
    public async Task Secrets_stored_in_plain_text_by_an_older_version_are_encrypted_when_the_store_opens()
    {
        var db = await NewDatabaseAsync();
        await db.MigrateAsync(TokenSchema.Migrations, default);
        await using (var connection = await db.OpenConnectionAsync(default))
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = """
                INSERT INTO wechat_tokens (key, value, issued_at, expires_at) VALUES ('app:wxa0a0a0a0a0a0a006', 'PLAIN-TOKEN', 0, 9999999999999);
                INSERT INTO wechat_verify_tickets (component_appid, ticket, create_time) VALUES ('wxc0c0c0c0c0c0c001', 'PLAIN-TICKET', 0);
                INSERT INTO wechat_authorizers (component_appid, authorizer_appid, refresh_token, updated_at) VALUES ('wxc0c0c0c0c0c0c001', 'wxa0a0a0a0a0a0a006', 'PLAIN-REFRESH', 0);
                """;
            await cmd.ExecuteNonQueryAsync();
        }

        var store = await SqlTokenStore.OpenAsync(db, Key, default);

        (await RawSecretsAsync(db)).Should().OnlyContain(v => !v.Contains("PLAIN"));
        (await store.GetTokenAsync("app:wxa0a0a0a0a0a0a006", default))!.Value.Should().Be("PLAIN-TOKEN");
        (await store.GetVerifyTicketAsync(Platform, default))!.Ticket.Should().Be("PLAIN-TICKET");
        (await store.GetAuthorizerRefreshTokenAsync(Platform, Authorized, default)).Should().Be("PLAIN-REFRESH");
    }
}

public sealed class SqliteTokenStoreTests : SqlTokenStoreContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<StoreDatabase> NewDatabaseAsync() => Task.FromResult(StoreDatabase.Open(_folder.File(Guid.NewGuid().ToString("N") + ".db")));

    public void Dispose() => _folder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "wechat-postgres";
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresTokenStoreTests(PostgresFixture postgres) : SqlTokenStoreContract
{
    protected override async Task<StoreDatabase> NewDatabaseAsync() => StoreDatabase.Open(await postgres.Cluster.CreateDatabaseAsync());
}
