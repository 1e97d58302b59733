using System.Data.Common;
using OneId.Graph;
using static OneId.Storage.StoreDatabase;

namespace OneId.Storage.Graph;

/// <summary>
/// The graph's SQL, written once for SQLite and PostgreSQL (both take @name parameters, RETURNING and ON CONFLICT).
/// Hot statements are created once per transaction and reused, which matters for imports of millions of lines.
/// </summary>
internal sealed class GraphCommands(DbConnection connection, DbTransaction? tx) : IAsyncDisposable
{
    private readonly Dictionary<string, DbCommand> _cache = new(StringComparer.Ordinal);

    private DbCommand Command(string sql, params string[] parameters)
    {
        if (!_cache.TryGetValue(sql, out var cmd))
        {
            cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = sql;
            foreach (var name in parameters)
            {
                AddParameter(cmd, name, null);
            }
            _cache[sql] = cmd;
        }
        return cmd;
    }

    private static DbCommand Bind(DbCommand cmd, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
        return cmd;
    }

    private DbCommand AdHoc(string sql)
    {
        var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd;
    }

    public async Task<PersonId?> FindExclusiveAsync(string key, CancellationToken ct)
    {
        if (Direct is { } direct)
        {
            PersonId? found = null;
            direct.Query("SELECT person_id FROM identifiers WHERE key = ?", key, row => found = new PersonId(SQLitePCL.raw.sqlite3_column_int64(row, 0)));
            return found;
        }
        var cmd = Bind(Command("SELECT person_id FROM identifiers WHERE key = @key", "key"), key);
        var result = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return result is null or DBNull ? null : new PersonId(Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task<IReadOnlyList<PersonId>> FindWeakAsync(string key, CancellationToken ct)
    {
        var cmd = Bind(Command("SELECT person_id FROM weak_identifiers WHERE key = @key ORDER BY person_id", "key"), key);
        var list = new List<PersonId>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new PersonId(reader.GetInt64(0)));
        }
        return list;
    }

    // Everything a person document needs, in one statement: its identifiers (0), aliases (1), creation time (2) and the
    // profiles of its accepted observations (3). 0 in observations.status is ObservationStatus.Accepted.
    // A replaced identifier (4) also names its successor in the fifth column.
    private const string PersonSql = """
        SELECT CASE WHEN replaced_by IS NULL THEN 0 ELSE 4 END, key, 0, 0, replaced_by FROM identifiers WHERE person_id = @p
        UNION ALL SELECT 0, key, 0, 0, CAST(NULL AS TEXT) FROM weak_identifiers WHERE person_id = @p
        UNION ALL SELECT 1, CAST(NULL AS TEXT), id, 0, CAST(NULL AS TEXT) FROM persons WHERE merged_into = @p
        UNION ALL SELECT 2, CAST(NULL AS TEXT), created_at, 0, CAST(NULL AS TEXT) FROM persons WHERE id = @p
        UNION ALL SELECT 3, profile, id, at, CAST(NULL AS TEXT) FROM observations WHERE person_id = @p AND status = 0 AND profile IS NOT NULL
        """;

    /// <summary>The person <paramref name="id"/> names (it must be current, see <see cref="CurrentIdAsync"/>), in one statement.</summary>
    public async Task<Person> LoadPersonAsync(PersonId id, CancellationToken ct)
    {
        var identifiers = new List<Identifier>();
        var aliases = new List<PersonId>();
        var observations = new List<ObservationRecord>();
        long createdAt = 0;
        Dictionary<Identifier, Identifier>? replacedBy = null;
        void Row(int tag, string? text, long number, long at, string? successor)
        {
            switch (tag)
            {
                case 0: identifiers.Add(Identifier.FromStored(text!)); break;
                case 4:
                    var old = Identifier.FromStored(text!);
                    identifiers.Add(old);
                    (replacedBy ??= [])[old] = Identifier.FromStored(successor!);
                    break;
                case 1: aliases.Add(new PersonId(number)); break;
                case 2: createdAt = number; break;
                default:
                    observations.Add(new ObservationRecord(new ObservationId(number), [], "", DateTimeOffset.FromUnixTimeMilliseconds(at),
                        SqlGraphStore.ParseProfile(text), ObservationStatus.Accepted));
                    break;
            }
        }
        if (Direct is { } direct)
        {
            direct.Query(PersonSql.Replace("@p", "?1", StringComparison.Ordinal), id.Value, row => Row(
                SQLitePCL.raw.sqlite3_column_int(row, 0),
                SQLitePCL.raw.sqlite3_column_type(row, 1) == SQLitePCL.raw.SQLITE_NULL ? null : SQLitePCL.raw.sqlite3_column_text(row, 1).utf8_to_string(),
                SQLitePCL.raw.sqlite3_column_int64(row, 2),
                SQLitePCL.raw.sqlite3_column_int64(row, 3),
                SQLitePCL.raw.sqlite3_column_type(row, 4) == SQLitePCL.raw.SQLITE_NULL ? null : SQLitePCL.raw.sqlite3_column_text(row, 4).utf8_to_string()));
        }
        else
        {
            var cmd = Bind(Command(PersonSql, "p"), id.Value);
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                Row(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), reader.IsDBNull(1) ? null : reader.GetString(1),
                    Convert.ToInt64(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture),
                    reader.IsDBNull(4) ? null : reader.GetString(4));
            }
        }
        identifiers.Sort((a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        aliases.Sort((a, b) => a.Value.CompareTo(b.Value));
        return new Person(id, aliases, identifiers, Person.DeriveProfile(observations), DateTimeOffset.FromUnixTimeMilliseconds(createdAt))
        {
            ReplacedBy = replacedBy ?? (IReadOnlyDictionary<Identifier, Identifier>)EmptyReplacedBy,
        };
    }

    private static readonly Dictionary<Identifier, Identifier> EmptyReplacedBy = [];

    public async Task<IReadOnlyList<Identifier>> AllIdentifiersOfAsync(PersonId person, CancellationToken ct)
    {
        var cmd = Bind(Command("SELECT key FROM identifiers WHERE person_id = @p UNION ALL SELECT key FROM weak_identifiers WHERE person_id = @p", "p"), person.Value);
        var list = new List<Identifier>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(Identifier.FromStored(reader.GetString(0)));
        }
        list.Sort((a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return list;
    }

    // ---- ids. SQLite has one writer at a time: MAX()+1 is safe there, and ids grow in commit order, which makes the
    // ---- event sequence a gap-free outbox cursor. PostgreSQL writers of a tenant run side by side: person and
    // ---- observation ids come from sequences, reserved in blocks, and a batch's events are numbered when they are
    // ---- published, by the last statement before the commit (see PublishEventsAsync).
    private long _nextPerson;
    private long _nextObservation;
    private long _nextEvent;
    private readonly Queue<long> _personIds = new();
    private readonly Queue<long> _observationIds = new();

    /// <summary>PostgreSQL: writers run side by side and lock what they touch (<see cref="StoreDatabase.WriteConcurrentlyAsync{T}"/>).</summary>
    public bool SideBySide => connection is not Microsoft.Data.Sqlite.SqliteConnection;

    public async Task EnsureIdsLoadedAsync(CancellationToken ct)
    {
        if (SideBySide)
        {
            // Provisional numbers for the batch's events; PublishEventsAsync adds the log's head to them.
            _nextEvent = _nextEvent == 0 ? 1 : _nextEvent;
            return;
        }
        if (_nextPerson > 0)
        {
            return;
        }
        await using var cmd = AdHoc("""
            SELECT (SELECT COALESCE(MAX(id), 0) FROM persons), (SELECT COALESCE(MAX(id), 0) FROM observations), (SELECT COALESCE(MAX(seq), 0) FROM events)
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        _nextPerson = reader.GetInt64(0) + 1;
        _nextObservation = reader.GetInt64(1) + 1;
        _nextEvent = reader.GetInt64(2) + 1;
    }

    /// <summary>Person ids reserved and not used yet (SQLite never runs out).</summary>
    public int PersonIdsLeft => SideBySide ? _personIds.Count : int.MaxValue;

    /// <summary>Observation ids reserved and not used yet (SQLite never runs out).</summary>
    public int ObservationIdsLeft => SideBySide ? _observationIds.Count : int.MaxValue;

    public Task ReservePersonIdsAsync(int count, CancellationToken ct) => ReserveAsync("persons_id_seq", count, _personIds, ct);

    public Task ReserveObservationIdsAsync(int count, CancellationToken ct) => ReserveAsync("observations_id_seq", count, _observationIds, ct);

    // A sequence hands out values outside any transaction: a reservation never waits for another writer, and a value
    // reserved and not used (a batch that guessed high, or rolled back) is a gap, never a duplicate.
    private async Task ReserveAsync(string sequence, int count, Queue<long> into, CancellationToken ct)
    {
        if (!SideBySide || count <= 0)
        {
            return;
        }
        var cmd = Bind(Command($"SELECT nextval('{sequence}') FROM generate_series(1, @n)", "n"), count);
        var ids = new List<long>(count);
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                ids.Add(reader.GetInt64(0));
            }
        }
        ids.Sort();
        foreach (var id in ids)
        {
            into.Enqueue(id);
        }
    }

    public long NextPersonId() => SideBySide
        ? (_personIds.TryDequeue(out var id) ? id : throw new InvalidOperationException("no person id reserved"))
        : _nextPerson > 0 ? _nextPerson++ : throw new InvalidOperationException("ids not loaded");

    public long NextObservationId() => SideBySide
        ? (_observationIds.TryDequeue(out var id) ? id : throw new InvalidOperationException("no observation id reserved"))
        : _nextObservation > 0 ? _nextObservation++ : throw new InvalidOperationException("ids not loaded");

    /// <summary>The next event's sequence number: final on SQLite, provisional (from 1) on PostgreSQL until published.</summary>
    public long NextEventSequence() => _nextEvent > 0 ? _nextEvent++ : throw new InvalidOperationException("ids not loaded");

    /// <summary>
    /// Inserts a write's events and answers what was added to their sequence numbers: 0 on SQLite, where they are
    /// final already. On PostgreSQL this is the ordered publication step: one update of the <c>event_head</c> row takes
    /// the next numbers and holds that row until the commit, so writers publish one after another in the order of their
    /// commits — a reader of the log never sees an event whose predecessor is still to come — while everything
    /// else of their transactions ran side by side. It also counts the write (the graph version), so call it last, and
    /// once per transaction that changed the graph, with or without events.
    /// </summary>
    public async Task<long> PublishEventsAsync(IReadOnlyList<object?[]> rows, CancellationToken ct)
    {
        if (!SideBySide)
        {
            await InsertEventsAsync(rows, ct).ConfigureAwait(false);
            return 0;
        }
        // The notification is delivered when the transaction commits, to every process listening (PostgresChangeListener);
        // on Citus it runs on the coordinator, where the listeners are, and the update on the tenant's worker.
        var head = Bind(Command("""
            UPDATE event_head SET seq = seq + @n, writes = writes + 1 WHERE id = 1 RETURNING seq - @n;
            SELECT pg_notify('oneid_graph_' || current_schema(), '')
            """, "n"), (long)rows.Count);
        var offset = Convert.ToInt64(await head.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        foreach (var row in rows)
        {
            row[0] = (long)row[0]! + offset;
        }
        await InsertEventsAsync(rows, ct).ConfigureAwait(false);
        return offset;
    }

    /// <summary>
    /// PostgreSQL: locks, in id order, every person that holds one of <paramref name="keys"/>, and answers the keys'
    /// owners as they are once those locks are held. Whoever changes a person's identifiers (links, merges, re-points)
    /// holds that person's lock, so the answer stays true until the commit. An owner may change between a lookup and
    /// its lock (a merge committed in between moved the identifier): the owners are read again after each round of
    /// locks, and new owners are locked too, until every owner is locked. A lock taken in that later round may come
    /// out of id order; the rare deadlock it can cause is detected by PostgreSQL and the transaction runs again.
    /// </summary>
    public async Task<Dictionary<string, long>> LockOwnersOfKeysAsync(IReadOnlyList<string> keys, CancellationToken ct)
    {
        var locked = new HashSet<long>();
        var owners = new Dictionary<string, long>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return owners;
        }
        // Round one in one round trip: lock the owners a lookup finds, then (a new snapshot, after the locks) read them again.
        var cmd = Bind(Command("""
            SELECT p.id FROM persons p WHERE p.id IN (SELECT person_id FROM identifiers WHERE key = ANY(@keys)) ORDER BY p.id FOR UPDATE OF p;
            SELECT key, person_id FROM identifiers WHERE key = ANY(@keys)
            """, "keys"), (object)keys.ToArray());
        for (var round = 1; ; round++)
        {
            owners.Clear();
            await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    locked.Add(reader.GetInt64(0));
                }
                await reader.NextResultAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    owners[reader.GetString(0)] = reader.GetInt64(1);
                }
            }
            var missing = owners.Values.Where(p => !locked.Contains(p)).Distinct().Order().ToArray();
            if (missing.Length == 0)
            {
                return owners;
            }
            cmd = Bind(Command("""
                SELECT id FROM persons WHERE id = ANY(@persons) ORDER BY id FOR UPDATE;
                SELECT key, person_id FROM identifiers WHERE key = ANY(@keys)
                """, "persons", "keys"), missing, keys.ToArray());
        }
    }

    // ---- bulk reads

    public async Task<Dictionary<string, long>> OwnersOfKeysAsync(IReadOnlyList<string> keys, CancellationToken ct)
    {
        var owners = new Dictionary<string, long>(StringComparer.Ordinal);
        if (Direct is { } direct)
        {
            foreach (var key in keys)
            {
                direct.Query("SELECT person_id FROM identifiers WHERE key = ?", key, row => owners[key] = SQLitePCL.raw.sqlite3_column_int64(row, 0));
            }
            return owners;
        }
        // PostgreSQL: one statement for the whole batch, the keys as one array.
        var cmd = Bind(Command("SELECT key, person_id FROM identifiers WHERE key = ANY(@keys)", "keys"), (object)keys.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            owners[reader.GetString(0)] = reader.GetInt64(1);
        }
        return owners;
    }

    /// <summary>The stored observations carrying these <see cref="Observation.Key"/>s: what became of each the first time.</summary>
    public async Task<Dictionary<string, (long Id, int Status, long? Person)>> ObservationsByKeyAsync(IReadOnlyList<string> keys, CancellationToken ct)
    {
        var found = new Dictionary<string, (long, int, long?)>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return found;
        }
        if (Direct is { } direct)
        {
            foreach (var key in keys)
            {
                direct.Query("SELECT id, status, person_id FROM observations WHERE key = ?", key, row => found[key] = (
                    SQLitePCL.raw.sqlite3_column_int64(row, 0), SQLitePCL.raw.sqlite3_column_int(row, 1),
                    SQLitePCL.raw.sqlite3_column_type(row, 2) == SQLitePCL.raw.SQLITE_NULL ? null : SQLitePCL.raw.sqlite3_column_int64(row, 2)));
            }
            return found;
        }
        var cmd = Bind(Command("SELECT key, id, status, person_id FROM observations WHERE key = ANY(@keys)", "keys"), (object)keys.ToArray());
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                found[reader.GetString(0)] = (reader.GetInt64(1), Convert.ToInt32(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture),
                    reader.IsDBNull(3) ? null : reader.GetInt64(3));
            }
        }
        return found;
    }

    public Task<List<(string Key, long Person)>> ExclusiveKeysOfPersonsAsync(IReadOnlyList<long> persons, CancellationToken ct) =>
        KeysOfPersonsAsync("SELECT key, person_id FROM identifiers WHERE person_id IN ({0})", persons, ct);

    /// <summary>The replaced identifiers of these persons, with their successors (rare: only after a migration).</summary>
    public async Task<List<(string Key, long Person, string ReplacedBy)>> ReplacedKeysOfPersonsAsync(IReadOnlyList<long> persons, CancellationToken ct)
    {
        var list = new List<(string, long, string)>();
        if (Direct is { } direct)
        {
            foreach (var person in persons)
            {
                direct.Query("SELECT key, replaced_by FROM identifiers WHERE person_id = ? AND replaced_by IS NOT NULL", person,
                    row => list.Add((SQLitePCL.raw.sqlite3_column_text(row, 0).utf8_to_string(), person, SQLitePCL.raw.sqlite3_column_text(row, 1).utf8_to_string())));
            }
            return list;
        }
        var cmd = Bind(Command("SELECT key, person_id, replaced_by FROM identifiers WHERE person_id = ANY(@persons) AND replaced_by IS NOT NULL", "persons"), (object)persons.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add((reader.GetString(0), reader.GetInt64(1), reader.GetString(2)));
        }
        return list;
    }

    /// <summary>Marks each old identifier as replaced by its new one (the rows exist: inserted before, or earlier in the transaction).</summary>
    public async Task MarkReplacedAsync(IReadOnlyList<(string Old, string New)> marks, CancellationToken ct)
    {
        foreach (var (old, @new) in marks)
        {
            await Bind(Command("UPDATE identifiers SET replaced_by = @new WHERE key = @old", "new", "old"), @new, old).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    public Task<List<(string Key, long Person)>> WeakKeysOfPersonsAsync(IReadOnlyList<long> persons, CancellationToken ct) =>
        KeysOfPersonsAsync("SELECT key, person_id FROM weak_identifiers WHERE person_id IN ({0})", persons, ct);

    private async Task<List<(string, long)>> KeysOfPersonsAsync(string sql, IReadOnlyList<long> persons, CancellationToken ct)
    {
        var list = new List<(string, long)>();
        if (Direct is { } direct)
        {
            var single = sql.Replace("IN ({0})", "= ?", StringComparison.Ordinal);
            foreach (var person in persons)
            {
                direct.Query(single, person, row => list.Add((SQLitePCL.raw.sqlite3_column_text(row, 0).utf8_to_string(), person)));
            }
            return list;
        }
        var cmd = Bind(Command(sql.Replace("IN ({0})", "= ANY(@persons)", StringComparison.Ordinal), "persons"), (object)persons.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add((reader.GetString(0), reader.GetInt64(1)));
        }
        return list;
    }

    // ---- bulk writes: row at a time through the C API on SQLite, one array statement per table on PostgreSQL

    public Task InsertPersonsAsync(IReadOnlyList<object?[]> rows, CancellationToken ct) =>
        InsertRowsAsync("persons", ["id", "created_at", "merged_into"], "bbb", rows, "", ct);

    public Task InsertExclusiveAsync(IReadOnlyList<object?[]> rows, CancellationToken ct) =>
        InsertRowsAsync("identifiers", ["key", "type", "ns", "person_id"], "tttb", rows, "", ct);

    /// <summary>Weak rows a person already holds are skipped.</summary>
    public Task InsertWeakAsync(IReadOnlyList<object?[]> rows, CancellationToken ct) =>
        InsertRowsAsync("weak_identifiers", ["key", "type", "person_id"], "ttb", rows, " ON CONFLICT DO NOTHING", ct);

    public Task InsertObservationsAsync(IReadOnlyList<object?[]> rows, CancellationToken ct) =>
        InsertRowsAsync("observations", ["id", "status", "person_id", "source", "at", "ids", "profile", "conflict", "key", "replaces"], "bbbtbttttt", rows, "", ct);

    public Task InsertEventsAsync(IReadOnlyList<object?[]> rows, CancellationToken ct) =>
        InsertRowsAsync("events", ["seq", "kind", "person_id", "others", "observation_id", "ids", "detail", "at"], "btbtbttb", rows, "", ct);

    public static object?[] EventRow(GraphEvent e) =>
    [
        e.Sequence, e.KindName, e.Person?.Value,
        e.Others.Count == 0 ? null : string.Join(',', e.Others.Select(o => SqlGraphStore.Invariant(o.Value))),
        e.Observation?.Value, e.Identifiers.Count == 0 ? null : SqlGraphStore.JoinIds(e.Identifiers), e.Detail, e.At.ToUnixTimeMilliseconds(),
    ];

    /// <summary>Inserts and publishes one event at once (operator actions: retraction, erasure, which hold the exclusive lock).</summary>
    public async Task<GraphEvent> InsertEventAsync(GraphEventKind kind, PersonId? person, IReadOnlyList<PersonId> others, ObservationId? observation,
        IReadOnlyList<Identifier> ids, string? detail, DateTimeOffset at, CancellationToken ct)
    {
        await EnsureIdsLoadedAsync(ct).ConfigureAwait(false);
        var e = new GraphEvent(SideBySide ? 1 : NextEventSequence(), kind, person, others, observation, ids, detail, DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds()));
        var offset = await PublishEventsAsync([EventRow(e)], ct).ConfigureAwait(false);
        return e with { Sequence = e.Sequence + offset };
    }

    public async Task<PersonId> InsertPersonAsync(DateTimeOffset at, CancellationToken ct)
    {
        await EnsureIdsLoadedAsync(ct).ConfigureAwait(false);
        await ReservePersonIdsAsync(1, ct).ConfigureAwait(false);
        var id = NextPersonId();
        await InsertPersonsAsync([[id, at.ToUnixTimeMilliseconds(), null]], ct).ConfigureAwait(false);
        return new PersonId(id);
    }

    /// <summary>
    /// The C-API path on SQLite (see <see cref="SqliteDirect"/>); null on PostgreSQL. Its prepared statements belong to
    /// the native handle, which the connection pool reuses, so a statement is prepared once per handle, not per request.
    /// </summary>
    private SqliteDirect? Direct => connection is Microsoft.Data.Sqlite.SqliteConnection sqlite ? SqliteDirect.For(sqlite) : null;

    /// <param name="types">one letter per column: <c>b</c> bigint, <c>t</c> text.</param>
    internal async Task InsertRowsAsync(string table, string[] columns, string types, IReadOnlyList<object?[]> rows, string suffix, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        if (Direct is { } direct)
        {
            // Row at a time through the C API: no round trip to save in an embedded database, only binding cost.
            direct.Insert($"INSERT INTO {table} ({string.Join(',', columns)}) VALUES ({string.Join(',', columns.Select(_ => "?"))}){suffix}", rows);
            return;
        }
        // PostgreSQL: the whole batch of a table in one statement, each column one array parameter, so the server
        // parses and plans once and the client binds a handful of parameters instead of thousands.
        var unnest = string.Join(',', columns.Select((_, c) => $"@c{c}::{(types[c] == 'b' ? "bigint" : "text")}[]"));
        var cmd = Command($"INSERT INTO {table} ({string.Join(',', columns)}) SELECT * FROM unnest({unnest}){suffix}",
            columns.Select((_, c) => "c" + c).ToArray());
        for (var c = 0; c < columns.Length; c++)
        {
            if (types[c] == 'b')
            {
                var values = new long?[rows.Count];
                for (var r = 0; r < rows.Count; r++)
                {
                    values[r] = rows[r][c] switch { null => null, long l => l, int i => i, var v => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture) };
                }
                cmd.Parameters[c].Value = values;
            }
            else
            {
                var values = new string?[rows.Count];
                for (var r = 0; r < rows.Count; r++)
                {
                    values[r] = (string?)rows[r][c];
                }
                cmd.Parameters[c].Value = values;
            }
        }
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves everything of each absorbed person to its survivor: identifiers, weak identifiers (a phone both held
    /// stays once), observations, and the alias pointers, which stay one hop from the person they name.
    /// </summary>
    public async Task RepointMergedAsync(IReadOnlyList<(long Old, long Root)> merges, CancellationToken ct)
    {
        if (merges.Count == 0)
        {
            return;
        }
        if (connection is not Microsoft.Data.Sqlite.SqliteConnection)
        {
            // PostgreSQL: the map travels as two arrays and joins by UPDATE … FROM unnest(…). Citus's schema-based
            // sharding routes these to the one worker holding the tenant's schema; a correlated subquery on a
            // coordinator-local temp table it cannot route ("found no worker with all shard placements").
            await using var pg = AdHoc("""
                UPDATE persons p SET merged_into = m.root FROM unnest(@old, @root) AS m(old, root) WHERE p.merged_into = m.old;
                UPDATE persons p SET merged_into = m.root FROM unnest(@old, @root) AS m(old, root) WHERE p.id = m.old;
                UPDATE identifiers i SET person_id = m.root FROM unnest(@old, @root) AS m(old, root) WHERE i.person_id = m.old;
                INSERT INTO weak_identifiers (key, type, person_id)
                    SELECT w.key, w.type, m.root FROM weak_identifiers w JOIN unnest(@old, @root) AS m(old, root) ON w.person_id = m.old
                    ON CONFLICT DO NOTHING;
                DELETE FROM weak_identifiers w USING unnest(@old, @root) AS m(old, root) WHERE w.person_id = m.old;
                UPDATE observations o SET person_id = m.root FROM unnest(@old, @root) AS m(old, root) WHERE o.person_id = m.old;
                UPDATE keep_apart k SET a = m.root FROM unnest(@old, @root) AS m(old, root) WHERE k.a = m.old;
                UPDATE keep_apart k SET b = m.root FROM unnest(@old, @root) AS m(old, root) WHERE k.b = m.old;
                """);
            AddParameter(pg, "old", merges.Select(m => m.Old).ToArray());
            AddParameter(pg, "root", merges.Select(m => m.Root).ToArray());
            await pg.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return;
        }
        await using (var create = AdHoc("CREATE TEMP TABLE IF NOT EXISTS merge_map (old BIGINT PRIMARY KEY, root BIGINT NOT NULL); DELETE FROM merge_map;"))
        {
            await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await InsertRowsAsync("merge_map", ["old", "root"], "bb", merges.Select(m => new object?[] { m.Old, m.Root }).ToArray(), "", ct).ConfigureAwait(false);
        // SQLite: IN (SELECT …) with a correlated value, not UPDATE … FROM: SQLite plans the latter as a scan of the big table.
        await using var repoint = AdHoc("""
            UPDATE persons SET merged_into = (SELECT root FROM merge_map WHERE old = persons.merged_into)
                WHERE merged_into IN (SELECT old FROM merge_map);
            UPDATE persons SET merged_into = (SELECT root FROM merge_map WHERE old = persons.id)
                WHERE id IN (SELECT old FROM merge_map);
            UPDATE identifiers SET person_id = (SELECT root FROM merge_map WHERE old = identifiers.person_id)
                WHERE person_id IN (SELECT old FROM merge_map);
            INSERT INTO weak_identifiers (key, type, person_id)
                SELECT w.key, w.type, (SELECT root FROM merge_map WHERE old = w.person_id) FROM weak_identifiers w
                WHERE w.person_id IN (SELECT old FROM merge_map)
                ON CONFLICT DO NOTHING;
            DELETE FROM weak_identifiers WHERE person_id IN (SELECT old FROM merge_map);
            UPDATE observations SET person_id = (SELECT root FROM merge_map WHERE old = observations.person_id)
                WHERE person_id IN (SELECT old FROM merge_map);
            UPDATE keep_apart SET a = (SELECT root FROM merge_map WHERE old = keep_apart.a) WHERE a IN (SELECT old FROM merge_map);
            UPDATE keep_apart SET b = (SELECT root FROM merge_map WHERE old = keep_apart.b) WHERE b IN (SELECT old FROM merge_map);
            DELETE FROM merge_map;
            """);
        await repoint.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<(int Status, PersonId? Person)?> ObservationStatusAsync(ObservationId id, CancellationToken ct)
    {
        var cmd = Bind(Command("SELECT status, person_id FROM observations WHERE id = @id", "id"), id.Value);
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            return null;
        }
        return (Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
            reader.IsDBNull(1) ? null : new PersonId(reader.GetInt64(1)));
    }

    public Task SetObservationStatusAsync(ObservationId id, int status, CancellationToken ct) =>
        Bind(Command("UPDATE observations SET status = @s WHERE id = @id", "s", "id"), status, id.Value).ExecuteNonQueryAsync(ct);

    public async Task<IReadOnlyList<ObservationRecord>> ObservationsOfAsync(PersonId person, bool onlyAccepted, CancellationToken ct)
    {
        var cmd = Bind(Command(onlyAccepted
            ? "SELECT id, ids, source, at, profile, status, replaces FROM observations WHERE person_id = @p AND status = 0 ORDER BY id" /* 0: ObservationStatus.Accepted */
            : "SELECT id, ids, source, at, profile, status, replaces FROM observations WHERE person_id = @p ORDER BY id", "p"), person.Value);
        var list = new List<ObservationRecord>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new ObservationRecord(
                new ObservationId(reader.GetInt64(0)),
                SqlGraphStore.SplitIds(reader.GetString(1)),
                reader.GetString(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                SqlGraphStore.ParseProfile(reader.IsDBNull(4) ? null : reader.GetString(4)),
                (ObservationStatus)Convert.ToInt32(reader.GetValue(5), System.Globalization.CultureInfo.InvariantCulture))
            {
                Replacements = SqlGraphStore.ParseReplacements(reader.IsDBNull(6) ? null : reader.GetString(6)),
            });
        }
        return list;
    }

    public async Task DeleteIdentifiersOfAsync(PersonId person, CancellationToken ct)
    {
        await Bind(Command("DELETE FROM identifiers WHERE person_id = @p", "p"), person.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await Bind(Command("DELETE FROM weak_identifiers WHERE person_id = @p", "p"), person.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task MoveObservationsAsync(IReadOnlyList<ObservationId> observations, PersonId owner, CancellationToken ct)
    {
        foreach (var o in observations)
        {
            await Bind(Command("UPDATE observations SET person_id = @p WHERE id = @id", "p", "id"), owner.Value, o.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    public Task MarkGoneAsync(PersonId person, CancellationToken ct) =>
        Bind(Command("UPDATE persons SET gone = 1 WHERE id = @p", "p"), person.Value).ExecuteNonQueryAsync(ct);

    /// <summary>The person an id or alias names now, or null when unknown or gone.</summary>
    public async Task<PersonId?> CurrentIdAsync(PersonId id, CancellationToken ct)
    {
        var cmd = Bind(Command("""
            SELECT p.id FROM persons a JOIN persons p ON p.id = COALESCE(a.merged_into, a.id)
            WHERE a.id = @id AND p.gone = 0
            """, "id"), id.Value);
        var result = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return result is null or DBNull ? null : new PersonId(Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task<IReadOnlyList<PersonId>> AliasesOfAsync(PersonId person, CancellationToken ct)
    {
        var cmd = Bind(Command("SELECT id FROM persons WHERE merged_into = @p ORDER BY id", "p"), person.Value);
        var list = new List<PersonId>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new PersonId(reader.GetInt64(0)));
        }
        return list;
    }

    public async Task<DateTimeOffset> CreatedAtAsync(PersonId person, CancellationToken ct)
    {
        var result = await Bind(Command("SELECT created_at FROM persons WHERE id = @p", "p"), person.Value).ExecuteScalarAsync(ct).ConfigureAwait(false);
        return DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task<IReadOnlyList<GraphEvent>> EventsOfAsync(IReadOnlyList<PersonId> persons, CancellationToken ct)
    {
        await using var cmd = AdHoc($"SELECT {EventColumns} FROM events WHERE person_id IN ({string.Join(',', persons.Select((_, i) => "@p" + i))}) ORDER BY seq");
        for (var i = 0; i < persons.Count; i++)
        {
            AddParameter(cmd, "p" + i, persons[i].Value);
        }
        return await ReadEventsAsync(cmd, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<GraphEvent>> EventsAfterAsync(long after, int max, CancellationToken ct)
    {
        var cmd = Bind(Command($"SELECT {EventColumns} FROM events WHERE seq > @after ORDER BY seq LIMIT @max", "after", "max"), after, max);
        return await ReadEventsAsync(cmd, ct).ConfigureAwait(false);
    }

    private const string EventColumns = "seq, kind, person_id, others, observation_id, ids, detail, at";

    private static async Task<IReadOnlyList<GraphEvent>> ReadEventsAsync(DbCommand cmd, CancellationToken ct)
    {
        var list = new List<GraphEvent>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new GraphEvent(
                reader.GetInt64(0),
                GraphEvent.ParseKind(reader.GetString(1)),
                reader.IsDBNull(2) ? null : new PersonId(reader.GetInt64(2)),
                reader.IsDBNull(3) ? [] : reader.GetString(3).Split(',').Select(s => new PersonId(long.Parse(s, System.Globalization.CultureInfo.InvariantCulture))).ToArray(),
                reader.IsDBNull(4) ? null : new ObservationId(reader.GetInt64(4)),
                SqlGraphStore.SplitIds(reader.IsDBNull(5) ? null : reader.GetString(5)),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7))));
        }
        return list;
    }

    public async Task EraseAsync(PersonId person, CancellationToken ct)
    {
        var observations = await ObservationsOfAsync(person, onlyAccepted: false, ct).ConfigureAwait(false);
        foreach (var o in observations)
        {
            var kept = o.Identifiers.Where(i => i.Type != IdentifierType.Phone).ToArray();
            await Bind(Command("UPDATE observations SET profile = NULL, ids = @ids WHERE id = @id", "ids", "id"),
                SqlGraphStore.JoinIds(kept), o.Id.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await Bind(Command("DELETE FROM weak_identifiers WHERE person_id = @p AND type = 'phone'", "p"), person.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        // Audit events name the identifiers they linked; phone numbers there are private data too.
        var history = await EventsOfAsync([.. await AliasesOfAsync(person, ct).ConfigureAwait(false), person], ct).ConfigureAwait(false);
        foreach (var e in history.Where(e => e.Identifiers.Any(i => i.Type == IdentifierType.Phone)))
        {
            var kept = e.Identifiers.Where(i => i.Type != IdentifierType.Phone).ToArray();
            await Bind(Command("UPDATE events SET ids = @ids WHERE seq = @seq", "ids", "seq"), kept.Length == 0 ? null : SqlGraphStore.JoinIds(kept), e.Sequence)
                .ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    public async Task<GraphStats> StatsAsync(CancellationToken ct)
    {
        async Task<long> Scalar(string sql)
        {
            await using var cmd = AdHoc(sql);
            return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }

        var persons = await Scalar("SELECT COUNT(*) FROM persons WHERE merged_into IS NULL AND gone = 0").ConfigureAwait(false);
        // By status (ObservationStatus: 0 accepted, 1 rejected, 2 retracted); an accepted observation without a person
        // held only weak identifiers.
        long accepted = 0, rejected = 0, weakOnly = 0, retracted = 0;
        await using (var cmd = AdHoc("SELECT status, CASE WHEN person_id IS NULL THEN 1 ELSE 0 END, COUNT(*) FROM observations GROUP BY status, CASE WHEN person_id IS NULL THEN 1 ELSE 0 END"))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var count = reader.GetInt64(2);
                switch ((ObservationStatus)Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture))
                {
                    case ObservationStatus.Accepted when Convert.ToInt32(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture) == 1: weakOnly += count; break;
                    case ObservationStatus.Accepted: accepted += count; break;
                    case ObservationStatus.Rejected: rejected += count; break;
                    default: retracted += count; break;
                }
            }
        }

        var byType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        await using (var cmd = AdHoc("SELECT type, COUNT(*) FROM identifiers GROUP BY type UNION ALL SELECT type, COUNT(*) FROM weak_identifiers GROUP BY type"))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                byType[reader.GetString(0)] = byType.GetValueOrDefault(reader.GetString(0)) + reader.GetInt64(1);
            }
        }

        var coverage = new List<AppCoverage>();
        await using (var cmd = AdHoc("""
            SELECT o.ns, COUNT(DISTINCT o.person_id),
                   COUNT(DISTINCT CASE WHEN EXISTS (SELECT 1 FROM identifiers u WHERE u.person_id = o.person_id AND u.type = 'unionid') THEN o.person_id END)
            FROM identifiers o WHERE o.type = 'openid' AND o.replaced_by IS NULL GROUP BY o.ns ORDER BY o.ns
            """))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                coverage.Add(new AppCoverage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        var overlap = new List<AppOverlap>();
        await using (var cmd = AdHoc("""
            SELECT a.ns, b.ns, COUNT(*) FROM identifiers a
            JOIN identifiers b ON b.person_id = a.person_id AND b.type = 'openid' AND b.replaced_by IS NULL AND a.ns < b.ns
            WHERE a.type = 'openid' AND a.replaced_by IS NULL GROUP BY a.ns, b.ns ORDER BY a.ns, b.ns
            """))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                overlap.Add(new AppOverlap(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
            }
        }

        return new GraphStats(persons, accepted + weakOnly, byType.Values.Sum(), rejected, byType, coverage, overlap)
        {
            ObservationsByOutcome = new ObservationCounts(accepted, rejected, weakOnly, retracted),
        };
    }

    public async Task<IReadOnlyList<DailyCount>> GrowthAsync(DateTimeOffset since, CancellationToken ct)
    {
        // Integer division of epoch milliseconds by a day: the UTC day, the same on both stores.
        var cmd = Bind(Command("""
            SELECT created_at / 86400000, COUNT(*) FROM persons
            WHERE created_at >= @since AND merged_into IS NULL AND gone = 0
            GROUP BY created_at / 86400000 ORDER BY 1
            """, "since"), since.ToUnixTimeMilliseconds());
        var list = new List<DailyCount>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new DailyCount(DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture) * 86_400_000).UtcDateTime),
                Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)));
        }
        return list;
    }

    // ---- keep-apart constraints

    public async Task<bool> AnyKeepApartAsync(CancellationToken ct) =>
        await Command("SELECT 1 FROM keep_apart LIMIT 1").ExecuteScalarAsync(ct).ConfigureAwait(false) is not (null or DBNull);

    /// <summary>The constraints naming any of <paramref name="persons"/> (rows exist in both directions, so a-side is enough).</summary>
    public async Task<List<KeptApart>> KeptApartOfAsync(IReadOnlyList<long> persons, CancellationToken ct)
    {
        var list = new List<KeptApart>();
        if (Direct is { } direct)
        {
            foreach (var person in persons)
            {
                direct.Query("SELECT a, b FROM keep_apart WHERE a = ?", person,
                    row => list.Add(new KeptApart(new PersonId(SQLitePCL.raw.sqlite3_column_int64(row, 0)), new PersonId(SQLitePCL.raw.sqlite3_column_int64(row, 1)))));
            }
            return list;
        }
        var cmd = Bind(Command("SELECT a, b FROM keep_apart WHERE a = ANY(@persons)", "persons"), (object)persons.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new KeptApart(new PersonId(reader.GetInt64(0)), new PersonId(reader.GetInt64(1))));
        }
        return list;
    }

    public Task InsertKeepApartAsync(PersonId a, PersonId b, DateTimeOffset at, CancellationToken ct) =>
        InsertRowsAsync("keep_apart", ["a", "b", "created_at"], "bbb",
            [[a.Value, b.Value, at.ToUnixTimeMilliseconds()], [b.Value, a.Value, at.ToUnixTimeMilliseconds()]], "", ct);

    public async Task<int> DeleteKeepApartAsync(PersonId a, PersonId b, CancellationToken ct) =>
        await Bind(Command("DELETE FROM keep_apart WHERE (a = @a AND b = @b) OR (a = @b AND b = @a)", "a", "b"), a.Value, b.Value)
            .ExecuteNonQueryAsync(ct).ConfigureAwait(false);

    // ---- conflicts

    public Task InsertConflictsAsync(IReadOnlyList<object?[]> rows, CancellationToken ct) =>
        InsertRowsAsync("conflicts", ["observation_id", "state", "disputes"], "bbt", rows, "", ct);

    private const string ConflictColumns = """
        c.observation_id, c.state, c.disputes, c.resolved_at, c.applied_as, c.retracted, o.ids, o.source, o.at, o.profile, o.status, o.replaces
        """;

    public async Task<List<StoredConflictRow>> ConflictsAsync(int offset, int limit, CancellationToken ct)
    {
        var cmd = Bind(Command($"""
            SELECT {ConflictColumns} FROM conflicts c JOIN observations o ON o.id = c.observation_id
            ORDER BY c.state, c.observation_id DESC LIMIT @limit OFFSET @offset
            """, "limit", "offset"), limit, offset);
        return await ReadConflictsAsync(cmd, ct).ConfigureAwait(false);
    }

    public async Task<StoredConflictRow?> ConflictAsync(ObservationId id, CancellationToken ct)
    {
        var cmd = Bind(Command($"SELECT {ConflictColumns} FROM conflicts c JOIN observations o ON o.id = c.observation_id WHERE c.observation_id = @id", "id"), id.Value);
        return (await ReadConflictsAsync(cmd, ct).ConfigureAwait(false)).FirstOrDefault();
    }

    public async Task<(long Open, long Total)> ConflictCountsAsync(CancellationToken ct)
    {
        await using var cmd = AdHoc("SELECT (SELECT COUNT(*) FROM conflicts WHERE state = 0), (SELECT COUNT(*) FROM conflicts)");
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        await reader.ReadAsync(ct).ConfigureAwait(false);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static async Task<List<StoredConflictRow>> ReadConflictsAsync(DbCommand cmd, CancellationToken ct)
    {
        var list = new List<StoredConflictRow>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var id = new ObservationId(reader.GetInt64(0));
            var observation = new ObservationRecord(id, SqlGraphStore.SplitIds(reader.GetString(6)), reader.GetString(7),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)), SqlGraphStore.ParseProfile(reader.IsDBNull(9) ? null : reader.GetString(9)),
                (ObservationStatus)Convert.ToInt32(reader.GetValue(10), System.Globalization.CultureInfo.InvariantCulture))
            {
                Replacements = SqlGraphStore.ParseReplacements(reader.IsDBNull(11) ? null : reader.GetString(11)),
            };
            list.Add(new StoredConflictRow(observation,
                (ConflictState)Convert.ToInt32(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture),
                SqlGraphStore.ParseDisputes(reader.IsDBNull(2) ? null : reader.GetString(2)),
                reader.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : new ObservationId(reader.GetInt64(4)),
                reader.IsDBNull(5) ? [] : reader.GetString(5).Split(',').Select(s => new ObservationId(long.Parse(s, System.Globalization.CultureInfo.InvariantCulture))).ToArray()));
        }
        return list;
    }

    public Task CloseConflictAsync(ObservationId id, ConflictState state, DateTimeOffset at, ObservationId? appliedAs, IReadOnlyList<ObservationId> retracted, CancellationToken ct) =>
        Bind(Command("UPDATE conflicts SET state = @s, resolved_at = @at, applied_as = @applied, retracted = @retracted WHERE observation_id = @id",
                "s", "at", "applied", "retracted", "id"),
            (int)state, at.ToUnixTimeMilliseconds(), appliedAs?.Value, retracted.Count == 0 ? null : string.Join(',', retracted), id.Value).ExecuteNonQueryAsync(ct);

    // ---- migrations

    /// <summary>
    /// Keys of one type and namespace in effect, after <paramref name="after"/> in key order. Comparison and order use
    /// the same collation, so paging is consistent on either store. There is no index on (type, ns): a migration reads
    /// pages of thousands and is rare, and an index would slow every insert of an import.
    /// </summary>
    public async Task<IReadOnlyList<Identifier>> IdentifiersInNamespaceAsync(string type, string ns, string after, int limit, CancellationToken ct)
    {
        var cmd = Bind(Command("""
            SELECT key FROM identifiers WHERE type = @type AND ns = @ns AND replaced_by IS NULL AND key > @after
              AND NOT EXISTS (SELECT 1 FROM identifiers r WHERE r.replaced_by = identifiers.key)
            ORDER BY key LIMIT @limit
            """, "type", "ns", "after", "limit"), type, ns, after, limit);
        var list = new List<Identifier>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(Identifier.FromStored(reader.GetString(0)));
        }
        return list;
    }

    // ---- search

    /// <summary>
    /// Identifier rows whose key starts with <paramref name="prefix"/>: a range on the primary key on SQLite (binary
    /// order), LIKE on PostgreSQL (correct whatever the database's collation).
    /// </summary>
    public async Task<List<(string Key, long Person)>> KeysWithPrefixAsync(string table, string prefix, int limit, CancellationToken ct)
    {
        var sql = connection is Microsoft.Data.Sqlite.SqliteConnection
            ? $"SELECT key, person_id FROM {table} WHERE key >= @lo AND key < @hi ORDER BY key LIMIT @limit"
            : $"SELECT key, person_id FROM {table} WHERE key LIKE @like ESCAPE '\\' ORDER BY key LIMIT @limit";
        var cmd = connection is Microsoft.Data.Sqlite.SqliteConnection
            ? Bind(Command(sql, "lo", "hi", "limit"), prefix, prefix + "􏿿", limit)
            : Bind(Command(sql, "like", "limit"), EscapeLike(prefix) + "%", limit);
        return await ReadKeyPersonsAsync(cmd, ct).ConfigureAwait(false);
    }

    /// <summary>Rows whose value (after <c>type:namespace:</c>) starts with <paramref name="valuePrefix"/>; a scan, bounded by the limit.</summary>
    public async Task<List<(string Key, long Person)>> KeysWithValuePrefixAsync(string table, string valuePrefix, int limit, CancellationToken ct)
    {
        var cmd = Bind(Command($"SELECT key, person_id FROM {table} WHERE key LIKE @like ESCAPE '\\' LIMIT @limit", "like", "limit"),
            "%:" + EscapeLike(valuePrefix) + "%", limit * 4);
        var rows = await ReadKeyPersonsAsync(cmd, ct).ConfigureAwait(false);
        // LIKE matched the text anywhere after a colon (and case-insensitively on SQLite): keep true value prefixes.
        return rows.Where(r => Identifier.FromStored(r.Key).Value.StartsWith(valuePrefix, StringComparison.Ordinal)).Take(limit).ToList();
    }

    /// <summary>Persons whose accepted observations carry a nickname containing <paramref name="text"/>; a scan, bounded by the limit.</summary>
    public async Task<List<(string Nickname, long Person)>> PersonsByNicknameAsync(string text, int limit, CancellationToken ct)
    {
        var cmd = Bind(Command("SELECT profile, person_id FROM observations WHERE status = 0 AND person_id IS NOT NULL AND profile LIKE @like ESCAPE '\\' LIMIT @limit", "like", "limit"),
            // Profiles are stored as JSON, where non-ASCII text is \u-escaped: match the text as it is stored.
            "%" + EscapeLike(System.Text.Json.JsonEncodedText.Encode(text).ToString()) + "%", limit * 4);
        var list = new List<(string, long)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            var nickname = SqlGraphStore.ParseProfile(reader.GetString(0)).FirstOrDefault(a => a.Name == "nickname" && a.Value.Contains(text, StringComparison.OrdinalIgnoreCase));
            if (nickname is not null)
            {
                list.Add((nickname.Value, reader.GetInt64(1)));
            }
        }
        return list;
    }

    private static string EscapeLike(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private static async Task<List<(string Key, long Person)>> ReadKeyPersonsAsync(DbCommand cmd, CancellationToken ct)
    {
        var list = new List<(string Key, long Person)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add((reader.GetString(0), reader.GetInt64(1)));
        }
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var cmd in _cache.Values)
        {
            await cmd.DisposeAsync().ConfigureAwait(false);
        }
    }
}
