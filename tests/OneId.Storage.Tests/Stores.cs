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
