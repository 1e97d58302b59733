using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OneId.Storage.Graph;

/// <summary>
/// Reads and writes rows through SQLite's C API on the connection's own handle (so inside its transaction): each statement is
/// prepared once and parameters are bound by position. Microsoft.Data.Sqlite binds every parameter by name on every
/// execution, a linear search per parameter, and that — not SQLite — was most of the cost of a bulk import.
/// </summary>
internal sealed class SqliteDirect(sqlite3 db) : IDisposable
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<sqlite3, SqliteDirect> PerHandle = [];
    private readonly Dictionary<string, sqlite3_stmt> _statements = new(StringComparer.Ordinal);

    /// <summary>
    /// The statements of <paramref name="connection"/>'s native handle. The pool gives a handle to one connection at a
    /// time, so they are never used concurrently; they live as long as the handle does.
    /// </summary>
    public static SqliteDirect For(SqliteConnection connection)
    {
        var handle = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        return PerHandle.GetValue(handle, h => new SqliteDirect(h));
    }

    /// <summary>Runs a statement once per row of parameters (inserts, updates).</summary>
    public void Execute(string sql, IReadOnlyList<object?[]> rows)
    {
        var (db, stmt) = Prepare(sql);
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                Bind(db, stmt, i + 1, row[i]);
            }
            var step = raw.sqlite3_step(stmt);
            raw.sqlite3_reset(stmt);
            if (step != raw.SQLITE_DONE)
            {
                Check(db, step);
            }
        }
    }

    /// <summary>Runs a one-parameter query and hands each result row to <paramref name="row"/>.</summary>
    public void Query(string sql, object parameter, Action<sqlite3_stmt> row)
    {
        var (db, stmt) = Prepare(sql);
        Bind(db, stmt, 1, parameter);
        try
        {
            int step;
            while ((step = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
            {
                row(stmt);
            }
            Check(db, step);
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    /// <summary>Runs a one-parameter query for one integer: false when it returns no row. No closure, no boxing.</summary>
    public bool TryInt64(string sql, string parameter, out long value)
    {
        var (db, stmt) = Prepare(sql);
        Check(db, raw.sqlite3_bind_text(stmt, 1, parameter));
        try
        {
            var step = raw.sqlite3_step(stmt);
            Check(db, step);
            value = step == raw.SQLITE_ROW ? raw.sqlite3_column_int64(stmt, 0) : 0;
            return step == raw.SQLITE_ROW;
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    /// <summary>Runs a query by one integer and adds the first column of each row, with <paramref name="parameter"/>, to <paramref name="into"/>.</summary>
    public void Strings(string sql, long parameter, List<(string, long)> into)
    {
        var (db, stmt) = Prepare(sql);
        Check(db, raw.sqlite3_bind_int64(stmt, 1, parameter));
        try
        {
            int step;
            while ((step = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
            {
                into.Add((raw.sqlite3_column_text(stmt, 0).utf8_to_string(), parameter));
            }
            Check(db, step);
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    /// <summary>The handle, its <c>PRAGMA data_version</c> and its count of rows changed since it was opened.</summary>
    public (object Handle, long DataVersion, long TotalChanges) Marks()
    {
        var (_, stmt) = Prepare("PRAGMA data_version");
        try
        {
            var step = raw.sqlite3_step(stmt);
            Check(db, step);
            return (db, raw.sqlite3_column_int64(stmt, 0), raw.sqlite3_total_changes(db));
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    /// <summary>The handle's count of rows changed since it was opened (inserts, updates, deletes, also those rolled back).</summary>
    public long TotalChanges() => raw.sqlite3_total_changes(db);

    /// <summary>Runs a query without parameters, handing each row to <paramref name="row"/> until it answers false; false when it stopped early.</summary>
    public bool Scan(string sql, Func<sqlite3_stmt, bool> row)
    {
        var (_, stmt) = Prepare(sql);
        try
        {
            int step;
            while ((step = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
            {
                if (!row(stmt))
                {
                    return false;
                }
            }
            Check(db, step);
            return true;
        }
        finally
        {
            raw.sqlite3_reset(stmt);
        }
    }

    private (sqlite3 Db, sqlite3_stmt Stmt) Prepare(string sql)
    {
        if (!_statements.TryGetValue(sql, out var stmt))
        {
            Check(db, raw.sqlite3_prepare_v2(db, sql, out stmt));
            _statements[sql] = stmt;
        }
        return (db, stmt);
    }

    private static void Bind(sqlite3 db, sqlite3_stmt stmt, int index, object? value) =>
        Check(db, value switch
        {
            null => raw.sqlite3_bind_null(stmt, index),
            long l => raw.sqlite3_bind_int64(stmt, index, l),
            int n => raw.sqlite3_bind_int64(stmt, index, n),
            string s => raw.sqlite3_bind_text(stmt, index, s),
            var other => throw new ArgumentException($"cannot bind {other.GetType().Name}"),
        });

    private static void Check(sqlite3 db, int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(db));
        }
    }

    public void Dispose()
    {
        foreach (var stmt in _statements.Values)
        {
            stmt.Dispose();
        }
        _statements.Clear();
    }
}
