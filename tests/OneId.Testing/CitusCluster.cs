using Npgsql;

namespace OneId.Testing;

/// <summary>
/// A throwaway Citus cluster: a coordinator and two workers, each a <see cref="PostgresCluster"/> started with
/// <c>shared_preload_libraries='citus'</c>, and schema-based sharding on, so that each tenant's schema (OneId keeps one
/// per tenant) becomes a distributed schema that lives whole on one worker. Clients connect to the coordinator only.
/// Debian does not package Citus; ./test.sh builds and installs it when its sources are beside the repository.
/// </summary>
public sealed class CitusCluster : IAsyncDisposable
{
    private const string Database = "oneid";
    private static readonly string[] LibCandidates = ["/usr/lib/postgresql/15/lib/citus.so", "/usr/lib/postgresql/16/lib/citus.so", "/usr/lib/postgresql/17/lib/citus.so"];
    private readonly PostgresCluster[] _nodes;

    private CitusCluster(PostgresCluster[] nodes) => _nodes = nodes;

    /// <summary>Why Citus tests cannot run on this machine, or null when they can.</summary>
    public static string? MissingReason => LibCandidates.Any(File.Exists)
        ? null
        : "Citus is not installed (no citus.so in /usr/lib/postgresql/*/lib); ./test.sh builds and installs it when the vendored Citus source is beside the repository (README, Citus)";

    public PostgresCluster Coordinator => _nodes[0];

    public IReadOnlyList<PostgresCluster> Workers => _nodes[1..];

    /// <summary>The coordinator's database, where every tenant gets its own schema.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Coordinator.Port};Username=postgres;Database={Database};Timeout=30;Command Timeout=120";

    public static async Task<CitusCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        if (MissingReason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }
        string[] settings = ["shared_preload_libraries=citus", "citus.enable_schema_based_sharding=on", "max_prepared_transactions=100", "wal_level=logical"];
        var started = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => PostgresCluster.StartAsync(settings, cancellationToken))).ConfigureAwait(false);
        var cluster = new CitusCluster(started);
        try
        {
            foreach (var node in started)
            {
                await node.ExecuteAsync("postgres", $"CREATE DATABASE {Database}", cancellationToken).ConfigureAwait(false);
                await node.ExecuteAsync(Database, "CREATE EXTENSION citus", cancellationToken).ConfigureAwait(false);
            }
            await cluster.Coordinator.ExecuteAsync(Database, $"SELECT citus_set_coordinator_host('127.0.0.1', {cluster.Coordinator.Port})", cancellationToken).ConfigureAwait(false);
            foreach (var worker in cluster.Workers)
            {
                await cluster.Coordinator.ExecuteAsync(Database, $"SELECT citus_add_node('127.0.0.1', {worker.Port})", cancellationToken).ConfigureAwait(false);
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The worker port holding each distributed schema's tables, by schema name.</summary>
    public async Task<IReadOnlyDictionary<string, int>> SchemaPlacementsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT DISTINCT s.schema_name::text, sh.nodeport
            FROM citus_schemas s JOIN citus_shards sh ON sh.colocation_id = s.colocation_id
            """;
        var placements = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var schema = reader.GetString(0);
            if (placements.TryGetValue(schema, out var port) && port != reader.GetInt32(1))
            {
                throw new InvalidOperationException($"schema {schema} is spread over several nodes");
            }
            placements[schema] = reader.GetInt32(1);
        }
        return placements;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>xunit fixture: one Citus cluster per test collection that uses it; nothing is started when Citus is missing.</summary>
public sealed class CitusFixture : Xunit.IAsyncLifetime
{
    private CitusCluster? _cluster;

    public CitusCluster Cluster => _cluster ?? throw new InvalidOperationException(CitusCluster.MissingReason ?? "cluster not started");

    public async Task InitializeAsync()
    {
        if (CitusCluster.MissingReason is null)
        {
            _cluster = await CitusCluster.StartAsync().ConfigureAwait(false);
        }
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>A fact that is skipped, with the reason, when Citus is not installed.</summary>
public sealed class CitusFactAttribute : Xunit.FactAttribute
{
    public CitusFactAttribute()
    {
        if (CitusCluster.MissingReason is { } reason)
        {
            Skip = reason;
        }
    }
}
