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
            return direct.TryInt64(OwnerOfKeySqlite, key, out var owner) ? new PersonId(owner) : null;
        }
        var cmd = Bind(Command(OwnerOfKeySql, "key"), key);
        var result = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return result is null or DBNull ? null : new PersonId(Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture));
    }

    // ---- merges mark the absorbed person (persons.merged_into, kept flattened: always the root, never an alias) and
    // ---- leave its rows where they are. So an identifier's person is the root of its person_id, and "the rows of
    // ---- person P" are those of P and of the persons merged into P, one level deep.

    /// <summary>The root of the person holding exclusive key @key.</summary>
    private const string OwnerOfKeySql = "SELECT COALESCE(p.merged_into, p.id) FROM identifiers i JOIN persons p ON p.id = i.person_id WHERE i.key = @key";

    private static readonly string OwnerOfKeySqlite = OwnerOfKeySql.Replace("@key", "?1", StringComparison.Ordinal);

    /// <summary>Person @p and the persons merged into it: an IN list for person_id columns.</summary>
    internal const string PersonAndAliases = "(SELECT @p UNION ALL SELECT id FROM persons WHERE merged_into = @p)";

    /// <summary>The persons @persons (an array) and those merged into them: an IN list for person_id columns (PostgreSQL).</summary>
    private const string PersonsAndAliases = "(SELECT id FROM persons WHERE id = ANY(@persons) OR merged_into = ANY(@persons))";

    /// <summary>The exclusive identifiers with the root of their person: for reads that group or join by person.</summary>
    internal const string IdentifierRoots = "(SELECT i.key, i.type, i.ns, i.replaced_by, COALESCE(p.merged_into, p.id) AS person_id FROM identifiers i JOIN persons p ON p.id = i.person_id)";

    /// <summary>The weak identifiers with the root of their person.</summary>
    internal const string WeakRoots = "(SELECT w.key, w.type, COALESCE(p.merged_into, p.id) AS person_id FROM weak_identifiers w JOIN persons p ON p.id = w.person_id)";

    public async Task<IReadOnlyList<PersonId>> FindWeakAsync(string key, CancellationToken ct)
    {
        var cmd = Bind(Command("""
            SELECT DISTINCT COALESCE(p.merged_into, p.id) FROM weak_identifiers w JOIN persons p ON p.id = w.person_id WHERE w.key = @key ORDER BY 1
            """, "key"), key);
        var list = new List<PersonId>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(new PersonId(reader.GetInt64(0)));
        }
        return list;
    }

    // Everything a person document needs, in one statement: its identifiers (0), aliases (1), creation time (2) and the
    // profiles of its accepted observations (3), its aliases' rows included (a phone both held is listed once). 0 in
    // observations.status is ObservationStatus.Accepted.
    // A replaced identifier (4) also names its successor in the fifth column.
    private const string PersonSql = $"""
        SELECT CASE WHEN replaced_by IS NULL THEN 0 ELSE 4 END, key, 0, 0, replaced_by FROM identifiers WHERE person_id IN {PersonAndAliases}
        UNION ALL SELECT DISTINCT 0, key, 0, 0, CAST(NULL AS TEXT) FROM weak_identifiers WHERE person_id IN {PersonAndAliases}
        UNION ALL SELECT 1, CAST(NULL AS TEXT), id, 0, CAST(NULL AS TEXT) FROM persons WHERE merged_into = @p
        UNION ALL SELECT 2, CAST(NULL AS TEXT), created_at, 0, CAST(NULL AS TEXT) FROM persons WHERE id = @p
        UNION ALL SELECT 3, profile, id, at, CAST(NULL AS TEXT) FROM observations WHERE person_id IN {PersonAndAliases} AND status = 0 AND profile IS NOT NULL
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
        var cmd = Bind(Command($"SELECT key FROM identifiers WHERE person_id IN {PersonAndAliases} UNION SELECT key FROM weak_identifiers WHERE person_id IN {PersonAndAliases}", "p"), person.Value);
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
            SELECT p.id FROM persons p WHERE p.id IN (SELECT COALESCE(a.merged_into, a.id) FROM identifiers i JOIN persons a ON a.id = i.person_id WHERE i.key = ANY(@keys))
                ORDER BY p.id FOR UPDATE OF p;
            SELECT i.key, COALESCE(a.merged_into, a.id) FROM identifiers i JOIN persons a ON a.id = i.person_id WHERE i.key = ANY(@keys)
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
                SELECT i.key, COALESCE(a.merged_into, a.id) FROM identifiers i JOIN persons a ON a.id = i.person_id WHERE i.key = ANY(@keys)
                """, "persons", "keys"), missing, keys.ToArray());
        }
    }

    // ---- the SQLite writer's state between transactions (see WriterState)

    /// <summary>SQLite: this connection's handle, <c>PRAGMA data_version</c> and changed-row count.</summary>
    public (object Handle, long DataVersion, long TotalChanges) WriterMarks() =>
        (Direct ?? throw new InvalidOperationException("the writer state is SQLite's")).Marks();

    /// <summary>SQLite: the handle's changed-row count now (after the batch's last write).</summary>
    public long WriterTotalChanges() => (Direct ?? throw new InvalidOperationException("the writer state is SQLite's")).TotalChanges();

    /// <summary>
    /// SQLite: every exclusive key with the root of its person, then every stored observation key, each handed to its
    /// callback until one answers false (then this answers false).
    /// </summary>
    public Task<bool> ScanWriterStateAsync(Func<string, long, bool> owner, Func<string, bool> observationKey, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var direct = Direct ?? throw new InvalidOperationException("the writer state is SQLite's");
        var complete = direct.Scan("SELECT i.key, COALESCE(p.merged_into, p.id) FROM identifiers i JOIN persons p ON p.id = i.person_id",
                row => owner(SQLitePCL.raw.sqlite3_column_text(row, 0).utf8_to_string(), SQLitePCL.raw.sqlite3_column_int64(row, 1)))
            && direct.Scan("SELECT key FROM observations WHERE key IS NOT NULL",
                row => observationKey(SQLitePCL.raw.sqlite3_column_text(row, 0).utf8_to_string()));
        return Task.FromResult(complete);
    }

    // ---- bulk reads

    public async Task<Dictionary<string, long>> OwnersOfKeysAsync(IReadOnlyList<string> keys, CancellationToken ct)
    {
        var owners = new Dictionary<string, long>(StringComparer.Ordinal);
        if (Direct is { } direct)
        {
            foreach (var key in keys)
            {
                if (direct.TryInt64(OwnerOfKeySqlite, key, out var owner))
                {
                    owners[key] = owner;
                }
            }
            return owners;
        }
        // PostgreSQL: one statement for the whole batch, the keys as one array.
        var cmd = Bind(Command("SELECT i.key, COALESCE(p.merged_into, p.id) FROM identifiers i JOIN persons p ON p.id = i.person_id WHERE i.key = ANY(@keys)", "keys"),
            (object)keys.ToArray());
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
                direct.Query("SELECT o.id, o.status, COALESCE(p.merged_into, p.id) FROM observations o LEFT JOIN persons p ON p.id = o.person_id WHERE o.key = ?", key, row => found[key] = (
                    SQLitePCL.raw.sqlite3_column_int64(row, 0), SQLitePCL.raw.sqlite3_column_int(row, 1),
                    SQLitePCL.raw.sqlite3_column_type(row, 2) == SQLitePCL.raw.SQLITE_NULL ? null : SQLitePCL.raw.sqlite3_column_int64(row, 2)));
            }
            return found;
        }
        var cmd = Bind(Command("SELECT o.key, o.id, o.status, COALESCE(p.merged_into, p.id) FROM observations o LEFT JOIN persons p ON p.id = o.person_id WHERE o.key = ANY(@keys)", "keys"),
            (object)keys.ToArray());
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

    /// <summary>The exclusive keys of these (root) persons, their aliases' included, each with the root.</summary>
    public Task<List<(string Key, long Person)>> ExclusiveKeysOfPersonsAsync(IReadOnlyList<long> persons, CancellationToken ct) =>
        KeysOfPersonsAsync("identifiers", persons, ct);

    private static readonly string ReplacedKeysSqlite =
        $"SELECT key, replaced_by FROM identifiers WHERE person_id IN {PersonAndAliases.Replace("@p", "?1", StringComparison.Ordinal)} AND replaced_by IS NOT NULL";

    /// <summary>The replaced identifiers of these persons, with their successors (rare: only after a migration).</summary>
    public async Task<List<(string Key, long Person, string ReplacedBy)>> ReplacedKeysOfPersonsAsync(IReadOnlyList<long> persons, CancellationToken ct)
    {
        var list = new List<(string, long, string)>();
        if (Direct is { } direct)
        {
            foreach (var person in persons)
            {
                direct.Query(ReplacedKeysSqlite, person,
                    row => list.Add((SQLitePCL.raw.sqlite3_column_text(row, 0).utf8_to_string(), person, SQLitePCL.raw.sqlite3_column_text(row, 1).utf8_to_string())));
            }
            return list;
        }
        var cmd = Bind(Command($"""
            SELECT i.key, COALESCE(p.merged_into, p.id), i.replaced_by FROM identifiers i JOIN persons p ON p.id = i.person_id
            WHERE i.person_id IN {PersonsAndAliases} AND i.replaced_by IS NOT NULL
            """, "persons"), (object)persons.ToArray());
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

    /// <summary>The weak keys of these (root) persons, their aliases' included, each with the root (a key may come twice).</summary>
    public Task<List<(string Key, long Person)>> WeakKeysOfPersonsAsync(IReadOnlyList<long> persons, CancellationToken ct) =>
        KeysOfPersonsAsync("weak_identifiers", persons, ct);

    private static readonly string ExclusiveKeysSqlite = KeysOfPersonSqlite("identifiers");
    private static readonly string WeakKeysSqlite = KeysOfPersonSqlite("weak_identifiers");

    private static string KeysOfPersonSqlite(string table) =>
        $"SELECT key FROM {table} WHERE person_id = ?1 UNION ALL SELECT k.key FROM persons a JOIN {table} k ON k.person_id = a.id WHERE a.merged_into = ?1";

    private async Task<List<(string, long)>> KeysOfPersonsAsync(string table, IReadOnlyList<long> persons, CancellationToken ct)
    {
        var list = new List<(string, long)>();
        if (Direct is { } direct)
        {
            // The person's own rows, then its aliases' (usually none: one probe of the merged_into index).
            var single = table == "identifiers" ? ExclusiveKeysSqlite : WeakKeysSqlite;
            foreach (var person in persons)
            {
                direct.Strings(single, person, list);
            }
            return list;
        }
        var cmd = Bind(Command($"SELECT k.key, COALESCE(p.merged_into, p.id) FROM {table} k JOIN persons p ON p.id = k.person_id WHERE k.person_id IN {PersonsAndAliases}", "persons"),
            (object)persons.ToArray());
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

    /// <summary>Exclusive identifiers and the person each belongs to.</summary>
    public Task InsertExclusiveAsync(IReadOnlyList<(Identifier Id, long Person)> rows, CancellationToken ct) => Direct is not null
        // SQLite computes type and ns from the key (virtual columns, graph/007).
        ? InsertRowsAsync("identifiers", ["key", "person_id"], "tb", rows.Select(r => new object?[] { r.Id.ToString(), r.Person }).ToArray(), "", ct)
        : InsertRowsAsync("identifiers", ["key", "type", "ns", "person_id"], "tttb",
            rows.Select(r => new object?[] { r.Id.ToString(), r.Id.Type.Name, r.Id.Namespace, r.Person }).ToArray(), "", ct);

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
            direct.Execute($"INSERT INTO {table} ({string.Join(',', columns)}) VALUES ({string.Join(',', columns.Select(_ => "?"))}){suffix}", rows);
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
    /// Marks each absorbed person as merged into its survivor, and re-points the persons merged into it before, so that
    /// <c>merged_into</c> always names a root. Nothing else moves: the absorbed person's identifiers, weak identifiers,
    /// observations and keep-apart rows keep its id, and every read maps them to the root (see <see cref="PersonAndAliases"/>).
    /// A merge costs two updates of the small persons table instead of rewriting every row the absorbed person held.
    /// </summary>
    public async Task MarkMergedAsync(IReadOnlyList<(long Old, long Root)> merges, CancellationToken ct)
    {
        if (merges.Count == 0)
        {
            return;
        }
        if (Direct is { } direct)
        {
            var rows = merges.Select(m => new object?[] { m.Root, m.Old }).ToArray();
            direct.Execute("UPDATE persons SET merged_into = ?1 WHERE merged_into = ?2", rows);
            direct.Execute("UPDATE persons SET merged_into = ?1 WHERE id = ?2", rows);
            return;
        }
        // PostgreSQL: the map travels as two arrays and joins by UPDATE … FROM unnest(…). Citus's schema-based sharding
        // routes these to the one worker holding the tenant's schema; a correlated subquery on a coordinator-local temp
        // table it cannot route ("found no worker with all shard placements").
        var pg = Command("""
            UPDATE persons p SET merged_into = m.root FROM unnest(@old, @root) AS m(old, root) WHERE p.merged_into = m.old;
            UPDATE persons p SET merged_into = m.root FROM unnest(@old, @root) AS m(old, root) WHERE p.id = m.old
            """, "old", "root");
        pg.Parameters[0].Value = merges.Select(m => m.Old).ToArray();
        pg.Parameters[1].Value = merges.Select(m => m.Root).ToArray();
        await pg.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<(int Status, PersonId? Person)?> ObservationStatusAsync(ObservationId id, CancellationToken ct)
    {
        var cmd = Bind(Command("SELECT o.status, COALESCE(p.merged_into, p.id) FROM observations o LEFT JOIN persons p ON p.id = o.person_id WHERE o.id = @id", "id"), id.Value);
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
            ? $"SELECT id, ids, source, at, profile, status, replaces FROM observations WHERE person_id IN {PersonAndAliases} AND status = 0 ORDER BY id" /* 0: ObservationStatus.Accepted */
            : $"SELECT id, ids, source, at, profile, status, replaces FROM observations WHERE person_id IN {PersonAndAliases} ORDER BY id", "p"), person.Value);
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
        await Bind(Command($"DELETE FROM identifiers WHERE person_id IN {PersonAndAliases}", "p"), person.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await Bind(Command($"DELETE FROM weak_identifiers WHERE person_id IN {PersonAndAliases}", "p"), person.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
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
        await Bind(Command($"DELETE FROM weak_identifiers WHERE person_id IN {PersonAndAliases} AND type = 'phone'", "p"), person.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
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
        // A replaced identifier (an OA migration's old openid, a provider's old external_userid) stays stored so that it
        // still resolves, but its successor is the one the person holds now: count only the current ones, as coverage does.
        await using (var cmd = AdHoc("SELECT type, COUNT(*) FROM identifiers WHERE replaced_by IS NULL GROUP BY type UNION ALL SELECT type, COUNT(*) FROM weak_identifiers GROUP BY type"))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                byType[reader.GetString(0)] = byType.GetValueOrDefault(reader.GetString(0)) + reader.GetInt64(1);
            }
        }

        var coverage = new List<AppCoverage>();
        await using (var cmd = AdHoc($"""
            WITH r AS MATERIALIZED {IdentifierRoots},
                 u AS MATERIALIZED (SELECT DISTINCT person_id FROM r WHERE type = 'unionid')
            SELECT o.ns, COUNT(DISTINCT o.person_id), COUNT(DISTINCT u.person_id)
            FROM r o LEFT JOIN u ON u.person_id = o.person_id
            WHERE o.type = 'openid' AND o.replaced_by IS NULL GROUP BY o.ns ORDER BY o.ns
            """))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                coverage.Add(new AppCoverage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        var overlap = new List<AppOverlap>();
        await using (var cmd = AdHoc($"""
            WITH r AS MATERIALIZED (SELECT ns, person_id FROM {IdentifierRoots} x WHERE type = 'openid' AND replaced_by IS NULL)
            SELECT a.ns, b.ns, COUNT(*) FROM r a JOIN r b ON b.person_id = a.person_id AND a.ns < b.ns
            GROUP BY a.ns, b.ns ORDER BY a.ns, b.ns
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

    // A keep-apart row names the persons as they were when it was made: each side is read as its root.
    private const string KeptApartRoots = """
        SELECT COALESCE(pa.merged_into, pa.id), COALESCE(pb.merged_into, pb.id) FROM keep_apart k
        JOIN persons pa ON pa.id = k.a JOIN persons pb ON pb.id = k.b
        """;

    private static readonly string KeptApartSqlite = $"{KeptApartRoots} WHERE k.a IN {PersonAndAliases.Replace("@p", "?1", StringComparison.Ordinal)}";

    /// <summary>
    /// The constraints naming any of <paramref name="persons"/> (roots) or a person merged into one, as pairs of roots
    /// (rows exist in both directions, so the a-side is enough).
    /// </summary>
    public async Task<List<KeptApart>> KeptApartOfAsync(IReadOnlyList<long> persons, CancellationToken ct)
    {
        var list = new List<KeptApart>();
        if (Direct is { } direct)
        {
            foreach (var person in persons)
            {
                direct.Query(KeptApartSqlite, person,
                    row => list.Add(new KeptApart(new PersonId(SQLitePCL.raw.sqlite3_column_int64(row, 0)), new PersonId(SQLitePCL.raw.sqlite3_column_int64(row, 1)))));
            }
            return list;
        }
        var cmd = Bind(Command($"{KeptApartRoots} WHERE k.a IN {PersonsAndAliases}", "persons"), (object)persons.ToArray());
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
        await Bind(Command("""
                DELETE FROM keep_apart
                WHERE (a IN (SELECT id FROM persons WHERE id = @a OR merged_into = @a) AND b IN (SELECT id FROM persons WHERE id = @b OR merged_into = @b))
                   OR (a IN (SELECT id FROM persons WHERE id = @b OR merged_into = @b) AND b IN (SELECT id FROM persons WHERE id = @a OR merged_into = @a))
                """, "a", "b"), a.Value, b.Value)
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
            ? $"SELECT k.key, COALESCE(p.merged_into, p.id) FROM {table} k JOIN persons p ON p.id = k.person_id WHERE k.key >= @lo AND k.key < @hi ORDER BY k.key LIMIT @limit"
            : $"SELECT k.key, COALESCE(p.merged_into, p.id) FROM {table} k JOIN persons p ON p.id = k.person_id WHERE k.key LIKE @like ESCAPE '\\' ORDER BY k.key LIMIT @limit";
        var cmd = connection is Microsoft.Data.Sqlite.SqliteConnection
            ? Bind(Command(sql, "lo", "hi", "limit"), prefix, prefix + "􏿿", limit)
            : Bind(Command(sql, "like", "limit"), EscapeLike(prefix) + "%", limit);
        return await ReadKeyPersonsAsync(cmd, ct).ConfigureAwait(false);
    }

    /// <summary>Rows whose value (after <c>type:namespace:</c>) starts with <paramref name="valuePrefix"/>; a scan, bounded by the limit.</summary>
    public async Task<List<(string Key, long Person)>> KeysWithValuePrefixAsync(string table, string valuePrefix, int limit, CancellationToken ct)
    {
        var cmd = Bind(Command($"SELECT k.key, COALESCE(p.merged_into, p.id) FROM {table} k JOIN persons p ON p.id = k.person_id WHERE k.key LIKE @like ESCAPE '\\' LIMIT @limit", "like", "limit"),
            "%:" + EscapeLike(valuePrefix) + "%", limit * 4);
        var rows = await ReadKeyPersonsAsync(cmd, ct).ConfigureAwait(false);
        // LIKE matched the text anywhere after a colon (and case-insensitively on SQLite): keep true value prefixes.
        return rows.Where(r => Identifier.FromStored(r.Key).Value.StartsWith(valuePrefix, StringComparison.Ordinal)).Take(limit).ToList();
    }

    /// <summary>Persons whose accepted observations carry a nickname containing <paramref name="text"/>; a scan, bounded by the limit.</summary>
    public async Task<List<(string Nickname, long Person)>> PersonsByNicknameAsync(string text, int limit, CancellationToken ct)
    {
        var cmd = Bind(Command("""
            SELECT o.profile, COALESCE(p.merged_into, p.id) FROM observations o JOIN persons p ON p.id = o.person_id
            WHERE o.status = 0 AND o.profile LIKE @like ESCAPE '\' LIMIT @limit
            """, "like", "limit"),
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
