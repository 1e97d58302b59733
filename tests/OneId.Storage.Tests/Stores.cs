using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

public sealed class SqliteGraphStoreTests : GraphStoreContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File("graph.db"));

    public void Dispose() => _folder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresGraphStoreTests(PostgresFixture postgres) : GraphStoreContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}

[CollectionDefinition(Name)]
public sealed class CitusCollection : ICollectionFixture<CitusFixture>
{
    public const string Name = "citus";
}

/// <summary>
/// The contract on a Citus coordinator with two workers and schema-based sharding: each test is a tenant of its own,
/// so its schema is a distributed schema placed whole on one worker, as the hub's tenants are.
/// </summary>
[RequiresCitus]
[Collection(CitusCollection.Name)]
public sealed class CitusGraphStoreTests(CitusFixture citus) : GraphStoreContract
{
    protected override Task<string> NewDatabaseAsync() => Task.FromResult(citus.Cluster.ConnectionString);

    protected override string? Tenant { get; } = "t" + Guid.NewGuid().ToString("N")[..12];
}
