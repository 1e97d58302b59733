using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace OneId.Storage;

public enum StoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// A schema change, written once per dialect. Migrations are named (<c>graph/001-init</c>, <c>tokens/001-init</c>) rather
/// than numbered so that each module owns its own list; each is applied once, in registration order, on open.
/// </summary>
public sealed record Migration(string Name, string Sqlite, string Postgres);

/// <summary>
/// How an embedded (SQLite) store uses memory and its write-ahead log; PostgreSQL ignores it (its server owns its
/// buffers and its WAL). The default suits a hub. A long import is different: one leaf of the identifier and
/// observation-key b-trees per key, at random, so past the page cache every miss is a <c>read()</c>, and every leaf a
/// batch dirties is written to the WAL and then again, by a checkpoint, into the file.
/// </summary>
/// <param name="CacheMegabytes">SQLite's page cache per connection (<c>PRAGMA cache_size</c>).</param>
/// <param name="MmapMegabytes">How much of the file SQLite may map instead of reading it (<c>PRAGMA mmap_size</c>); mapped
/// pages are the OS's page cache, shared and reclaimable, but they count in the process's RSS.</param>
/// <param name="CheckpointMegabytes">The WAL's size that triggers a checkpoint (<c>PRAGMA wal_autocheckpoint</c>; SQLite's
/// default is 4 MiB). A checkpoint copies each page once, its latest version, so a larger WAL copies a leaf that many
/// batches dirtied once instead of once per batch.</param>
/// <param name="WriterStateMegabytes">At most how much memory the graph's writer keeps between its transactions (each
/// identifier key's owner, each observation key's fingerprint: 10–15 and 5–8 bytes a key); past it every lookup goes to
/// SQLite again. 0 (a hub's default) turns it off: it is built by one scan of the identifier and observation-key tables
/// inside the first write transaction, which on a large graph would hold a hub's write gate (logins, pushes) for
/// seconds, and a hub's small batches find their keys in the page cache anyway. <c>oneid import</c> turns it on.</param>
public sealed record SqliteTuning(int CacheMegabytes = 64, int MmapMegabytes = 0, int CheckpointMegabytes = 4, int WriterStateMegabytes = 0)
{
    public static SqliteTuning Default { get; } = new();
}

/// <summary>What a read cache depends on (see <see cref="StoreDatabase.ChangeToken"/>).</summary>
public enum ChangeScope
{
    /// <summary>The graph's rows (the person cache, the graph version).</summary>
    Graph,

    /// <summary>The hub's API keys (the key cache).</summary>
    ApiKeys,

    /// <summary>Follows and contacts (the relationships cache).</summary>
    Relationships,
}

/// <summary>
/// One OneId database: a SQLite file (the embedded default, WAL) or a PostgreSQL schema. It hands out connections,
/// applies migrations and runs write transactions that are serialized per tenant, in this process and across processes.
/// </summary>
public abstract class StoreDatabase : IAsyncDisposable
{
    private readonly SemaphoreSlim _migrationGate = new(1, 1);
    private readonly HashSet<string> _applied = new(StringComparer.Ordinal);

    public abstract StoreKind Kind { get; }

    /// <summary>Where the data is, for messages (never includes a password).</summary>
    public abstract string Description { get; }

    /// <summary>
    /// Opens <paramref name="db"/>: a PostgreSQL connection string (it contains <c>Host=</c>) or a SQLite file path.
    /// <paramref name="tenant"/> selects the tenant's own file or schema, so that nothing can cross tenants.
    /// </summary>
    public static StoreDatabase Open(string db, string? tenant = null, SqliteTuning? tuning = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(db);
        if (tenant is not null && !System.Text.RegularExpressions.Regex.IsMatch(tenant, "^[a-z][a-z0-9_]{0,40}$"))
        {
            throw new ArgumentException($"tenant '{tenant}' must be lowercase letters, digits and _ (starting with a letter)", nameof(tenant));
        }
        return LooksLikePostgres(db) ? new PostgresDatabase(db, tenant) : new SqliteDatabase(db, tenant, tuning);
    }

    public static bool LooksLikePostgres(string db) =>
        db.Contains("Host=", StringComparison.OrdinalIgnoreCase) || db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
        || db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);

    public abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A number that stays the same while nothing of <paramref name="scope"/> was committed (by any process), or null
    /// where the store cannot tell that now. Read caches file an answer under the token read before the rows and serve
    /// it while the token is unchanged: a commit that lands between the two only makes the next call read again, so a
    /// cached answer is never older than the last commit the signal has carried.
    /// </summary>
    public abstract long? ChangeToken(ChangeScope scope);

    /// <summary>Applies the migrations not yet applied. Safe to call from several processes at once.</summary>
    public async Task MigrateAsync(IEnumerable<Migration> migrations, CancellationToken cancellationToken)
    {
        var pending = migrations.Where(m => !_applied.Contains(m.Name)).ToArray();
        if (pending.Length == 0)
        {
            return;
        }
        await _migrationGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Usually every migration is applied already: a plain read says so without the tenant's write lock, so
            // opening a store (every CLI command, every hub start) never queues behind a running import.
            var applied = await ReadAppliedMigrationsAsync(cancellationToken).ConfigureAwait(false);
            if (applied is not null && pending.All(m => applied.Contains(m.Name)))
            {
                foreach (var m in pending)
                {
                    _applied.Add(m.Name);
                }
                return;
            }
            await WriteAsync(async (connection, tx) =>
            {
                await ExecuteAsync(connection, tx, CreateMigrationsTableSql, cancellationToken).ConfigureAwait(false);
                var done = new HashSet<string>(StringComparer.Ordinal);
                await using (var cmd = connection.CreateCommand())
                {
                    cmd.Transaction = tx;
                    cmd.CommandText = "SELECT name FROM schema_migrations";
                    await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        done.Add(reader.GetString(0));
                    }
                }
                foreach (var m in pending.Where(m => !done.Contains(m.Name)))
                {
                    await ExecuteAsync(connection, tx, Kind == StoreKind.Sqlite ? m.Sqlite : m.Postgres, cancellationToken).ConfigureAwait(false);
                    await using var record = connection.CreateCommand();
                    record.Transaction = tx;
                    record.CommandText = "INSERT INTO schema_migrations(name, applied_at) VALUES (@name, @at)";
                    AddParameter(record, "name", m.Name);
                    AddParameter(record, "at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                return 0;
            }, cancellationToken).ConfigureAwait(false);
            foreach (var m in pending)
            {
                _applied.Add(m.Name);
            }
        }
        finally
        {
            _migrationGate.Release();
        }
    }

    /// <summary>The names in schema_migrations, or null when the table does not exist yet; read without any lock.</summary>
    private async Task<HashSet<string>?> ReadAppliedMigrationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (var exists = connection.CreateCommand())
        {
            exists.CommandText = MigrationsTableExistsSql;
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null or DBNull)
            {
                return null;
            }
        }
        var done = new HashSet<string>(StringComparer.Ordinal);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT name FROM schema_migrations";
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            done.Add(reader.GetString(0));
        }
        return done;
    }

    /// <summary>A query that answers one row when schema_migrations exists, none or NULL when it does not.</summary>
    protected abstract string MigrationsTableExistsSql { get; }

    protected virtual string CreateMigrationsTableSql =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)";

    /// <summary>
    /// Begins a write transaction that holds this tenant's write lock until it ends: SQLite takes the database's
    /// RESERVED lock at once (BEGIN IMMEDIATE), PostgreSQL a transaction-scoped advisory lock. Graph writes must see
    /// the persons they change as no other writer will, or two merges could both pass the conflict check.
    /// </summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Serializes writers inside this process before they meet at the database's own lock.</summary>
    protected virtual SemaphoreSlim? ProcessWriteGate => null;

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction that holds this tenant's write lock, committing when it
    /// returns and rolling back when it throws.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        WriteAsync(work, null, cancellationToken);

    /// <param name="ended">Told whether the transaction committed (true) or not (false, also when it may have: a
    /// commit that threw), while this process's write gate is still held: what it records is in place before the
    /// next writer of this process begins.</param>
    internal async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, Action<bool>? ended, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var gate = ProcessWriteGate;
        if (gate is not null)
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        var committed = false;
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var tx = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
            var result = await work(connection, tx).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            committed = true;
            return result;
        }
        finally
        {
            try
            {
                ended?.Invoke(committed);
            }
            finally
            {
                gate?.Release();
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction beside this tenant's other writers of the same kind: on
    /// PostgreSQL it holds the tenant's write lock in shared mode only (so it still waits for, and keeps out, the
    /// exclusive writers — migrations, retractions, operator actions), and <paramref name="work"/> must lock the rows it
    /// depends on itself. A transaction that lost a race to another writer — a deadlock between their row locks, or a
    /// unique key it found free and another writer committed first — is rolled back and run again from the start, so
    /// <paramref name="work"/> must read everything it decides on inside the transaction. SQLite has one writer at a
    /// time anyway: there this is <see cref="WriteAsync{T}"/>.
    /// </summary>
    public async Task<T> WriteConcurrentlyAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!SupportsConcurrentWriters)
        {
            return await WriteAsync(work, cancellationToken).ConfigureAwait(false);
        }
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using var tx = await BeginSharedWriteAsync(connection, cancellationToken).ConfigureAwait(false);
                var result = await work(connection, tx).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (DbException e) when (attempt < MaxConcurrentAttempts && LostARace(e))
            {
                // The other writer has committed (a unique key) or goes on (a deadlock victim is us): run again.
                Interlocked.Increment(ref _racesLost);
            }
        }
    }

    /// <summary>How often a transaction may lose a race before the error is the caller's; each loss is another writer's commit.</summary>
    public const int MaxConcurrentAttempts = 50;

    private long _racesLost;

    /// <summary>Transactions of this database run again because they lost a race to another writer (the bench prints it).</summary>
    public long RacesLost => Interlocked.Read(ref _racesLost);

    /// <summary>Whether writers of <see cref="WriteConcurrentlyAsync{T}"/> really run side by side on this store.</summary>
    public virtual bool SupportsConcurrentWriters => false;

    protected virtual Task<DbTransaction> BeginSharedWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginWriteAsync(connection, cancellationToken);

    protected virtual bool LostARace(DbException e) => false;

    public static async Task ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public static DbParameter AddParameter(DbCommand command, string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(command);
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        command.Parameters.Add(p);
        return p;
    }

    public virtual ValueTask DisposeAsync()
    {
        _migrationGate.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The embedded store: one SQLite file in WAL mode.</summary>
public sealed class SqliteDatabase : StoreDatabase
{
    private readonly string _connectionString;
    // Writers in this process queue here instead of spinning on SQLITE_BUSY; other processes meet at BEGIN IMMEDIATE.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private int _walChecked;
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object?> _configuredHandles = [];

    private readonly string _perHandlePragmas;

    public SqliteDatabase(string path, string? tenant, SqliteTuning? tuning = null)
    {
        tuning ??= SqliteTuning.Default;
        Tuning = tuning;
        // WAL lets readers run beside the one writer; NORMAL sync is durable across application crashes in WAL mode.
        // The page cache (SQLite's default is 2 MiB) keeps the identifier indexes' hot pages in memory.
        _perHandlePragmas = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=60000; " +
            $"PRAGMA cache_size=-{tuning.CacheMegabytes * 1024L}; PRAGMA mmap_size={tuning.MmapMegabytes * 1024L * 1024L}; " +
            $"PRAGMA wal_autocheckpoint={tuning.CheckpointMegabytes * 256L}; PRAGMA temp_store=MEMORY;";
        Path = tenant is null or "default" ? path : System.IO.Path.ChangeExtension(path, null) + "." + tenant + ".db";
        var full = System.IO.Path.GetFullPath(Path);
        var dir = System.IO.Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"the folder of the database file '{Path}' does not exist");
        }
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 60,
        }.ToString();
    }

    public string Path { get; }

    public SqliteTuning Tuning { get; }

    public override StoreKind Kind => StoreKind.Sqlite;

    public override string Description => $"SQLite file {Path}";

    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // Settings live on the native handle, which the pool reuses: set them once per handle, not on every open.
        if (connection.Handle is { } handle && _configuredHandles.TryAdd(handle, null))
        {
            var pragmas = Interlocked.Exchange(ref _walChecked, 1) == 0 ? "PRAGMA journal_mode=WAL; " + _perHandlePragmas : _perHandlePragmas;
            await ExecuteAsync(connection, null, pragmas, cancellationToken).ConfigureAwait(false);
        }
        return connection;
    }

    protected override SemaphoreSlim ProcessWriteGate => _writeGate;

    /// <summary>One connection that only ever reads <c>PRAGMA data_version</c>, and the last value it saw.</summary>
    private sealed class Watcher
    {
        public readonly Lock Gate = new();
        public SqliteConnection? Connection;
        public SQLitePCL.sqlite3_stmt? Statement;
        public long Seen = long.MinValue;
    }

    // Every request asks (the key cache and the graph version each once): with one watcher, concurrent requests queued
    // on its lock, and waiting there was most of the time the check took. Each watcher has its own lock.
    private readonly Watcher[] _watchers = Enumerable.Range(0, Math.Clamp(Environment.ProcessorCount, 2, 8)).Select(_ => new Watcher()).ToArray();
    private long _epoch;

    /// <summary>
    /// A number that moves whenever any connection (of this process or another) has committed since it was last
    /// asked. SQLite's <c>PRAGMA data_version</c> changes, for the connection that reads it, exactly when another
    /// connection has committed in between — a read of the WAL index in shared memory, far cheaper than a query, and
    /// stepped through SQLite's C API (through Microsoft.Data.Sqlite it cost several times the pragma).
    /// Several watcher connections answer side by side; their values are not comparable with one another, so the
    /// token is a process-wide epoch that a watcher moves on whenever its own value changed. That keeps the promise:
    /// a commit finished before a call is seen by that call's watcher — now (and the epoch moves) or by an earlier call
    /// on the same watcher, which moved the epoch after the commit and so after any token taken before the commit.
    /// The price: each watcher moves the epoch once per change it sees, so one commit can make a cache read again up to
    /// once per watcher.
    /// </summary>
    /// <remarks>SQLite cannot tell tables apart: any commit moves the token of every scope.</remarks>
    public override long? ChangeToken(ChangeScope scope) => DataVersion();

    public long DataVersion()
    {
        // The thread's own watcher first, then any free one; wait only when all are busy.
        var home = Environment.CurrentManagedThreadId;
        for (var i = 0; i < _watchers.Length; i++)
        {
            var watcher = _watchers[(home + i) % _watchers.Length];
            if (watcher.Gate.TryEnter())
            {
                try
                {
                    return Observe(watcher);
                }
                finally
                {
                    watcher.Gate.Exit();
                }
            }
        }
        var mine = _watchers[home % _watchers.Length];
        lock (mine.Gate)
        {
            return Observe(mine);
        }
    }

    // Called with watcher.Gate held.
    private long Observe(Watcher watcher)
    {
        if (watcher.Statement is null)
        {
            watcher.Connection = new SqliteConnection(_connectionString);
            watcher.Connection.Open();
            Check(watcher.Connection, SQLitePCL.raw.sqlite3_prepare_v2(watcher.Connection.Handle, "PRAGMA data_version", out var stmt));
            watcher.Statement = stmt;
        }
        long value;
        try
        {
            var rc = SQLitePCL.raw.sqlite3_step(watcher.Statement);
            if (rc != SQLitePCL.raw.SQLITE_ROW)
            {
                Check(watcher.Connection!, rc);
            }
            value = SQLitePCL.raw.sqlite3_column_int64(watcher.Statement, 0);
        }
        finally
        {
            SQLitePCL.raw.sqlite3_reset(watcher.Statement);
        }
        if (value != watcher.Seen)
        {
            watcher.Seen = value;
            Interlocked.Increment(ref _epoch);
        }
        return Interlocked.Read(ref _epoch);
    }

    private static void Check(SqliteConnection connection, int rc)
    {
        if (rc != SQLitePCL.raw.SQLITE_OK)
        {
            throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(connection.Handle).utf8_to_string(), rc);
        }
    }

    protected override string MigrationsTableExistsSql => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";

    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        // deferred: false makes Microsoft.Data.Sqlite issue BEGIN IMMEDIATE: the write lock is taken now, not at the
        // first write, so two writers never both read and then fail to upgrade (SQLITE_BUSY mid-transaction).
        return Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var watcher in _watchers)
        {
            lock (watcher.Gate)
            {
                watcher.Statement?.Dispose();
                watcher.Connection?.Dispose();
                watcher.Statement = null;
            }
        }
        _writeGate.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The server store: one schema of a PostgreSQL database (one schema per tenant).</summary>
public sealed class PostgresDatabase : StoreDatabase
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly long _writeLockKey;

    public PostgresDatabase(string connectionString, string? tenant)
    {
        Schema = tenant is null or "default" ? "oneid" : "oneid_" + tenant;
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"not a valid PostgreSQL connection string: {e.Message}", nameof(connectionString), e);
        }
        builder.SearchPath = Schema;
        // Statements a connection runs again and again (owner lookups, person loads, batch inserts) are prepared on
        // the server once per physical connection instead of parsed and planned on every execution.
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
        // Each schema (a tenant's, and the shared one for tokens) has its own pool. Npgsql's default of 100 per pool
        // would let a few hubs exhaust PostgreSQL's max_connections (100 by default), so unless the connection string
        // says otherwise a tenant's pool holds at most 20 and the shared one 5: one hub with T tenants opens at most
        // 20·T + 5 connections (docs/hub.md, "Sizing").
        if (!ExplicitPoolSize(connectionString))
        {
            builder.MaxPoolSize = Schema == "oneid" ? DefaultSharedPoolSize : DefaultTenantPoolSize;
        }
        Description = $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database} schema {Schema}";
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        Changes = new PostgresChangeListener(builder.ConnectionString, Schema);
        // One advisory lock key per schema: writers of one tenant queue, other tenants run in parallel.
        _writeLockKey = BitConverter.ToInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("oneid-write:" + Schema)), 0);
    }

    public string Schema { get; }

    /// <summary>The tenant's graph change signal (LISTEN/NOTIFY); its connection opens on first use.</summary>
    public PostgresChangeListener Changes { get; }

    /// <summary>
    /// The LISTEN connection's generation for <paramref name="scope"/>: it moves on every notification of that scope
    /// and on this process's own writes; null (read every time) while that connection is down.
    /// </summary>
    public override long? ChangeToken(ChangeScope scope) =>
        !Changes.IsListening ? null : scope switch
        {
            ChangeScope.ApiKeys => Changes.KeysGeneration,
            ChangeScope.Relationships => Changes.RelationshipsGeneration,
            _ => Changes.Generation,
        };

    /// <summary>Connections a tenant's pool may hold unless the connection string sets Maximum Pool Size.</summary>
    public const int DefaultTenantPoolSize = 20;

    /// <summary>Connections the shared schema's pool (tokens) may hold unless the connection string sets Maximum Pool Size.</summary>
    public const int DefaultSharedPoolSize = 5;

    private static bool ExplicitPoolSize(string connectionString)
    {
        var raw = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return raw.ContainsKey("Maximum Pool Size") || raw.ContainsKey("MaxPoolSize") || raw.ContainsKey("Max Pool Size");
    }

    public override StoreKind Kind => StoreKind.Postgres;

    public override string Description { get; }

    public override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    // The connection's search_path is the tenant's schema alone, so this finds only the tenant's own table.
    protected override string MigrationsTableExistsSql => "SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL";

    protected override string CreateMigrationsTableSql =>
        $"CREATE SCHEMA IF NOT EXISTS {Schema}; CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)";

    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginLockedAsync(connection, "pg_advisory_xact_lock", cancellationToken);

    public override bool SupportsConcurrentWriters => true;

    // Shared holders run side by side; an exclusive holder (WriteAsync) waits for them all and keeps new ones out.
    protected override Task<DbTransaction> BeginSharedWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginLockedAsync(connection, "pg_advisory_xact_lock_shared", cancellationToken);

    // 40P01 deadlock_detected, 40001 serialization_failure, 23505 unique_violation (a key another writer committed
    // between this transaction's read and its insert). A Citus coordinator passes a worker's unique violation on as
    // XX000 with the worker's message, so that one is recognised by its text.
    protected override bool LostARace(DbException e) =>
        e is PostgresException { SqlState: "40P01" or "40001" or "23505" }
        || e is PostgresException { SqlState: "XX000" } p && (p.MessageText.StartsWith("duplicate key value violates unique constraint", StringComparison.Ordinal)
            || p.MessageText.Contains("deadlock", StringComparison.Ordinal));

    private async Task<DbTransaction> BeginLockedAsync(DbConnection connection, string lockFunction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"SELECT {lockFunction}(@key)";
            AddParameter(cmd, "key", _writeLockKey);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return tx;
        }
        catch
        {
            await tx.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await Changes.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
