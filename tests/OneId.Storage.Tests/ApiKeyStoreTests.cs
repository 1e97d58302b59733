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
