using System.Diagnostics;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;
using OneId.Graph;
using OneId.Storage;
using SQLitePCL;

namespace OneId.Cli.Bench;

/// <summary>
/// The identifier rows of an ingest stream, generated (and, for SQLite, encoded as UTF-8) before any clock starts, in
/// arrival order. Each chunk of <see cref="RowsPerStatement"/> rows holds every key once (the last sighting wins), so
/// that a multi-row <c>ON CONFLICT DO UPDATE</c> never meets the same key twice in one statement.
/// </summary>
internal sealed class BaselineRows
{
    public const int RowsPerStatement = 1_000;
    public const int RowsPerTransaction = 10_000;

    private BaselineRows(string[] types, string[] namespaces, string[] values, long[] seen)
    {
        Types = types;
        Namespaces = namespaces;
        Values = values;
        Seen = seen;
    }

    public string[] Types { get; }
    public string[] Namespaces { get; }
    public string[] Values { get; }
    public long[] Seen { get; }
    public int Count => Types.Length;

    public static BaselineRows From(IReadOnlyList<Observation> stream)
    {
        var rows = new List<(string T, string N, string V, long S)>();
        var chunk = new Dictionary<(string, string, string), int>();
        foreach (var o in stream)
        {
            foreach (var id in o.Identifiers)
            {
                if (rows.Count % RowsPerStatement == 0)
                {
                    chunk.Clear();
                }
                var key = (id.Type.Name, id.Namespace, id.Value);
                var at = o.At.ToUnixTimeMilliseconds();
                if (chunk.TryGetValue(key, out var index))
                {
                    rows[index] = (key.Item1, key.Item2, key.Item3, at);
                    continue;
                }
                chunk[key] = rows.Count;
                rows.Add((key.Item1, key.Item2, key.Item3, at));
            }
        }
        return new BaselineRows(rows.Select(r => r.T).ToArray(), rows.Select(r => r.N).ToArray(), rows.Select(r => r.V).ToArray(), rows.Select(r => r.S).ToArray());
    }
}

/// <summary>CPU time of this process and, when the store is a PostgreSQL server on this machine, of its backends.</summary>
internal sealed class CpuMeter
{
    private readonly NpgsqlDataSource? _server;
    private Dictionary<int, long> _serverTicks = [];
    private TimeSpan _client;

    private CpuMeter(NpgsqlDataSource? server) => _server = server;

    public static CpuMeter For(StoreDatabase database, string db) =>
        new(database is PostgresDatabase pg ? NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(db) { SearchPath = pg.Schema, Pooling = false }.ConnectionString) : null);

    /// <summary>The same for a store named by its --db text: PostgreSQL's backends of that database count, else only this process.</summary>
    public static CpuMeter For(string? db) =>
        new(db is not null && StoreDatabase.LooksLikePostgres(db) ? NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(db) { Pooling = false }.ConnectionString) : null);

    public bool MeasuresServer { get; private set; }

    public async Task StartAsync(CancellationToken ct)
    {
        _serverTicks = await ServerTicksAsync(ct).ConfigureAwait(false);
        _client = Process.GetCurrentProcess().TotalProcessorTime;
    }

    /// <summary>Client CPU seconds and server (backend) CPU seconds since <see cref="StartAsync"/>.</summary>
    public async Task<(double Client, double Server)> StopAsync(CancellationToken ct)
    {
        var client = (Process.GetCurrentProcess().TotalProcessorTime - _client).TotalSeconds;
        var now = await ServerTicksAsync(ct).ConfigureAwait(false);
        var ticks = now.Sum(kv => kv.Value - _serverTicks.GetValueOrDefault(kv.Key));
        return (client, ticks / 100.0); // USER_HZ is 100 on Linux
    }

    // The backends of this database are the pool's connections, which live for the whole phase; their utime + stime
    // from /proc is the server's share of the work (the WAL writer and checkpointer are not counted).
    private async Task<Dictionary<int, long>> ServerTicksAsync(CancellationToken ct)
    {
        var ticks = new Dictionary<int, long>();
        if (_server is null)
        {
            return ticks;
        }
        await using var cmd = _server.CreateCommand("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var pid = reader.GetInt32(0);
            var stat = $"/proc/{pid}/stat";
            if (!File.Exists(stat))
            {
                continue; // the server is on another machine
            }
            var fields = File.ReadAllText(stat).Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // After "pid (comm)": state is field 3, utime field 14, stime field 15.
            ticks[pid] = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            MeasuresServer = true;
        }
        return ticks;
    }
}

/// <summary>
/// The fastest honest way to do the plain job — upsert each identifier row into a bare table keyed by (type,
/// namespace, value) — on each store, measured in the same run as the ingest it is compared with.
/// </summary>
internal static class IngestBaselines
{
    private const string CreateTable = "CREATE TABLE {0} (type TEXT NOT NULL, ns TEXT NOT NULL, value TEXT NOT NULL, seen BIGINT NOT NULL, PRIMARY KEY (type, ns, value))";

    /// <summary>
    /// SQLite through its C API, as a C program would: one prepared statement, parameters bound by position from
    /// UTF-8 bytes encoded before the clock starts, 10,000 rows a transaction.
    /// </summary>
    public static async Task<double> SqliteCApiAsync(StoreDatabase database, BaselineRows rows, CancellationToken ct)
    {
        await database.MigrateAsync([new Migration("bench/001-raw", string.Format(null, CreateTable, "bench_raw"), string.Format(null, CreateTable, "bench_raw"))], ct).ConfigureAwait(false);
        var types = rows.Types.Select(Encoding.UTF8.GetBytes).ToArray();
        var namespaces = rows.Namespaces.Select(Encoding.UTF8.GetBytes).ToArray();
        var values = rows.Values.Select(Encoding.UTF8.GetBytes).ToArray();
        await using var connection = (SqliteConnection)await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        var db = connection.Handle!;
        Check(db, raw.sqlite3_prepare_v2(db, "INSERT INTO bench_raw (type, ns, value, seen) VALUES (?, ?, ?, ?) ON CONFLICT (type, ns, value) DO UPDATE SET seen = excluded.seen", out var stmt));
        using (stmt)
        {
            var clock = Stopwatch.StartNew();
            for (var start = 0; start < rows.Count; start += BaselineRows.RowsPerTransaction)
            {
                Check(db, raw.sqlite3_exec(db, "BEGIN IMMEDIATE"));
                var end = Math.Min(rows.Count, start + BaselineRows.RowsPerTransaction);
                for (var i = start; i < end; i++)
                {
                    raw.sqlite3_bind_text(stmt, 1, types[i]);
                    raw.sqlite3_bind_text(stmt, 2, namespaces[i]);
                    raw.sqlite3_bind_text(stmt, 3, values[i]);
                    raw.sqlite3_bind_int64(stmt, 4, rows.Seen[i]);
                    var rc = raw.sqlite3_step(stmt);
                    raw.sqlite3_reset(stmt);
                    if (rc != raw.SQLITE_DONE)
                    {
                        Check(db, rc);
                    }
                }
                Check(db, raw.sqlite3_exec(db, "COMMIT"));
            }
            return clock.Elapsed.TotalSeconds;
        }
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
        }
    }

    /// <summary>
    /// PostgreSQL as multi-row upserts: 1,000 rows a prepared statement with positional parameters, 10,000 rows a
    /// transaction, so round trips are not what is measured.
    /// </summary>
    public static async Task<double> PostgresMultiRowAsync(PostgresDatabase database, BaselineRows rows, CancellationToken ct)
    {
        await database.MigrateAsync([new Migration("bench/001-raw", "", string.Format(null, CreateTable, "bench_raw"))], ct).ConfigureAwait(false);
        await using var connection = (NpgsqlConnection)await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        var commands = new Dictionary<int, NpgsqlCommand>();
        try
        {
            var clock = Stopwatch.StartNew();
            for (var start = 0; start < rows.Count; start += BaselineRows.RowsPerTransaction)
            {
                await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                var end = Math.Min(rows.Count, start + BaselineRows.RowsPerTransaction);
                for (var s = start; s < end; s += BaselineRows.RowsPerStatement)
                {
                    var n = Math.Min(BaselineRows.RowsPerStatement, end - s);
                    if (!commands.TryGetValue(n, out var cmd))
                    {
                        commands[n] = cmd = MultiRowUpsert(connection, n);
                        await cmd.PrepareAsync(ct).ConfigureAwait(false);
                    }
                    cmd.Transaction = tx;
                    for (var r = 0; r < n; r++)
                    {
                        ((NpgsqlParameter<string>)cmd.Parameters[r * 4]).TypedValue = rows.Types[s + r];
                        ((NpgsqlParameter<string>)cmd.Parameters[r * 4 + 1]).TypedValue = rows.Namespaces[s + r];
                        ((NpgsqlParameter<string>)cmd.Parameters[r * 4 + 2]).TypedValue = rows.Values[s + r];
                        ((NpgsqlParameter<long>)cmd.Parameters[r * 4 + 3]).TypedValue = rows.Seen[s + r];
                    }
                    await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
                await tx.CommitAsync(ct).ConfigureAwait(false);
            }
            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var cmd in commands.Values)
            {
                await cmd.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static NpgsqlCommand MultiRowUpsert(NpgsqlConnection connection, int n)
    {
        var sql = new StringBuilder("INSERT INTO bench_raw (type, ns, value, seen) VALUES ");
        var cmd = connection.CreateCommand();
        for (var r = 0; r < n; r++)
        {
            sql.Append(r == 0 ? "" : ",").Append(System.Globalization.CultureInfo.InvariantCulture, $"(${r * 4 + 1},${r * 4 + 2},${r * 4 + 3},${r * 4 + 4})");
            cmd.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint });
        }
        cmd.CommandText = sql.Append(" ON CONFLICT (type, ns, value) DO UPDATE SET seen = excluded.seen").ToString();
        return cmd;
    }

    /// <summary>
    /// PostgreSQL through COPY: each transaction's 10,000 rows are copied (binary) into a staging table and upserted
    /// from there in one statement, the last sighting of a key winning.
    /// </summary>
    public static async Task<double> PostgresCopyAsync(PostgresDatabase database, BaselineRows rows, CancellationToken ct)
    {
        await database.MigrateAsync([new Migration("bench/002-raw-copy", "", string.Format(null, CreateTable, "bench_raw_copy"))], ct).ConfigureAwait(false);
        await using var connection = (NpgsqlConnection)await database.OpenConnectionAsync(ct).ConfigureAwait(false);
        await StoreDatabase.ExecuteAsync(connection, null,
            "CREATE TEMP TABLE bench_stage (type TEXT NOT NULL, ns TEXT NOT NULL, value TEXT NOT NULL, seen BIGINT NOT NULL) ON COMMIT DELETE ROWS", ct).ConfigureAwait(false);
        await using var upsert = connection.CreateCommand();
        upsert.CommandText = """
            INSERT INTO bench_raw_copy (type, ns, value, seen)
            SELECT DISTINCT ON (type, ns, value) type, ns, value, seen FROM bench_stage ORDER BY type, ns, value, seen DESC
            ON CONFLICT (type, ns, value) DO UPDATE SET seen = excluded.seen
            """;
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < rows.Count; start += BaselineRows.RowsPerTransaction)
        {
            await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            var end = Math.Min(rows.Count, start + BaselineRows.RowsPerTransaction);
            await using (var copy = await connection.BeginBinaryImportAsync("COPY bench_stage (type, ns, value, seen) FROM STDIN (FORMAT BINARY)", ct).ConfigureAwait(false))
            {
                for (var i = start; i < end; i++)
                {
                    await copy.StartRowAsync(ct).ConfigureAwait(false);
                    await copy.WriteAsync(rows.Types[i], NpgsqlDbType.Text, ct).ConfigureAwait(false);
                    await copy.WriteAsync(rows.Namespaces[i], NpgsqlDbType.Text, ct).ConfigureAwait(false);
                    await copy.WriteAsync(rows.Values[i], NpgsqlDbType.Text, ct).ConfigureAwait(false);
                    await copy.WriteAsync(rows.Seen[i], NpgsqlDbType.Bigint, ct).ConfigureAwait(false);
                }
                await copy.CompleteAsync(ct).ConfigureAwait(false);
            }
            upsert.Transaction = tx;
            await upsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        return clock.Elapsed.TotalSeconds;
    }
}
