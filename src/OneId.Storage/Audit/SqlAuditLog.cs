using System.Data.Common;
using System.Globalization;

namespace OneId.Storage.Audit;

/// <summary>One operator action: which key did what to what, when, and how it ended (the HTTP status).</summary>
public sealed record AuditEntry(long Sequence, DateTimeOffset At, string KeyId, string Action, string? Target, int Status, string? Detail);

/// <summary>
/// The operator audit log of one tenant: append-only. It records who (the API key's id, never the key) did what; the
/// graph's own event log records what the graph did.
/// </summary>
public interface IOperatorAuditLog
{
    Task AppendAsync(DateTimeOffset at, string keyId, string action, string? target, int status, string? detail, CancellationToken cancellationToken);

    /// <summary>Newest first: entries with a sequence below <paramref name="before"/> (all when null).</summary>
    Task<IReadOnlyList<AuditEntry>> ReadAsync(long? before, int limit, CancellationToken cancellationToken);
}

/// <summary>The operator audit log on SQL, beside the graph in the tenant's database.</summary>
public sealed class SqlAuditLog : IOperatorAuditLog
{
    private readonly StoreDatabase _db;

    private SqlAuditLog(StoreDatabase db) => _db = db;

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new Migration("audit/001-init", Init("INTEGER"), Init("BIGSERIAL")),
    ];

    private static string Init(string id) => $"""
        CREATE TABLE operator_audit (
            seq {id} PRIMARY KEY,
            at BIGINT NOT NULL,
            key_id TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NULL,
            status INTEGER NOT NULL,
            detail TEXT NULL);
        """;

    public static async Task<SqlAuditLog> OpenAsync(StoreDatabase db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        await db.MigrateAsync(Migrations, cancellationToken).ConfigureAwait(false);
        return new SqlAuditLog(db);
    }

    public async Task AppendAsync(DateTimeOffset at, string keyId, string action, string? target, int status, string? detail, CancellationToken cancellationToken)
    {
        // Outside the graph's write lock on PostgreSQL (a sequence allocates the id); SQLite serializes writers anyway.
        async Task<int> Insert(DbConnection c, DbTransaction? tx)
        {
            await using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO operator_audit (at, key_id, action, target, status, detail) VALUES (@at, @key, @action, @target, @status, @detail)";
            StoreDatabase.AddParameter(cmd, "at", at.ToUnixTimeMilliseconds());
            StoreDatabase.AddParameter(cmd, "key", keyId);
            StoreDatabase.AddParameter(cmd, "action", action);
            StoreDatabase.AddParameter(cmd, "target", target);
            StoreDatabase.AddParameter(cmd, "status", status);
            StoreDatabase.AddParameter(cmd, "detail", detail is { Length: > 500 } ? detail[..500] : detail);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_db.Kind == StoreKind.Sqlite)
        {
            await _db.WriteAsync((c, tx) => Insert(c, tx), cancellationToken).ConfigureAwait(false);
            return;
        }
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await Insert(connection, null).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<AuditEntry>> ReadAsync(long? before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT seq, at, key_id, action, target, status, detail FROM operator_audit WHERE seq < @before ORDER BY seq DESC LIMIT @limit";
        StoreDatabase.AddParameter(cmd, "before", before ?? long.MaxValue);
        StoreDatabase.AddParameter(cmd, "limit", Math.Clamp(limit, 1, 500));
        var list = new List<AuditEntry>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new AuditEntry(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), Convert.ToInt32(reader.GetValue(5), CultureInfo.InvariantCulture),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }
        return list;
    }
}
