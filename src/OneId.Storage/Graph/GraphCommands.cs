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

    public async Task<IReadOnlyCollection<Identifier>> ExclusiveIdentifiersOfAsync(PersonId person, CancellationToken ct)
    {
        var cmd = Bind(Command("SELECT key FROM identifiers WHERE person_id = @p", "p"), person.Value);
        var list = new List<Identifier>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(Identifier.Parse(reader.GetString(0)));
        }
        return list;
    }

    public async Task<IReadOnlyList<Identifier>> AllIdentifiersOfAsync(PersonId person, CancellationToken ct)
    {
        var cmd = Bind(Command("SELECT key FROM identifiers WHERE person_id = @p UNION ALL SELECT key FROM weak_identifiers WHERE person_id = @p", "p"), person.Value);
        var list = new List<Identifier>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            list.Add(Identifier.Parse(reader.GetString(0)));
        }
        list.Sort((a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return list;
    }

    public async Task<PersonId> InsertPersonAsync(DateTimeOffset at, CancellationToken ct)
    {
        var cmd = Bind(Command("INSERT INTO persons (created_at) VALUES (@at) RETURNING id", "at"), at.ToUnixTimeMilliseconds());
        return new PersonId(Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture));
    }

    public Task InsertExclusiveAsync(Identifier id, PersonId person, CancellationToken ct) =>
        Bind(Command("INSERT INTO identifiers (key, type, ns, person_id) VALUES (@key, @type, @ns, @p)", "key", "type", "ns", "p"),
            id.ToString(), id.Type.Name, id.Namespace, person.Value).ExecuteNonQueryAsync(ct);

    /// <returns>True when the person did not hold it yet.</returns>
    public async Task<bool> InsertWeakAsync(Identifier id, PersonId person, CancellationToken ct) =>
        await Bind(Command("INSERT INTO weak_identifiers (key, type, person_id) VALUES (@key, @type, @p) ON CONFLICT DO NOTHING", "key", "type", "p"),
            id.ToString(), id.Type.Name, person.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;

    /// <summary>Moves everything of <paramref name="absorbed"/> to <paramref name="survivor"/>; the absorbed id becomes an alias.</summary>
    public async Task MergeAsync(PersonId absorbed, PersonId survivor, CancellationToken ct)
    {
        await Bind(Command("UPDATE identifiers SET person_id = @s WHERE person_id = @a", "s", "a"), survivor.Value, absorbed.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        // A weak identifier both persons hold stays once.
        await Bind(Command("""
            INSERT INTO weak_identifiers (key, type, person_id)
            SELECT key, type, @s FROM weak_identifiers WHERE person_id = @a
            ON CONFLICT DO NOTHING
            """, "s", "a"), survivor.Value, absorbed.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await Bind(Command("DELETE FROM weak_identifiers WHERE person_id = @a", "a"), absorbed.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await Bind(Command("UPDATE observations SET person_id = @s WHERE person_id = @a", "s", "a"), survivor.Value, absorbed.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        // Aliases stay one hop from the person they name, so resolving an alias is one lookup.
        await Bind(Command("UPDATE persons SET merged_into = @s WHERE id = @a OR merged_into = @a", "s", "a"), survivor.Value, absorbed.Value).ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<ObservationId> InsertObservationAsync(Observation o, int status, PersonId? person, string? conflict, CancellationToken ct)
    {
        var cmd = Bind(Command("""
            INSERT INTO observations (status, person_id, source, at, ids, profile, conflict)
            VALUES (@status, @p, @source, @at, @ids, @profile, @conflict) RETURNING id
            """, "status", "p", "source", "at", "ids", "profile", "conflict"),
            status, person?.Value, o.Source, o.At.ToUnixTimeMilliseconds(), SqlGraphStore.JoinIds(o.Identifiers), SqlGraphStore.ProfileJson(o.Profile), conflict);
        return new ObservationId(Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task<GraphEvent> InsertEventAsync(GraphEventKind kind, PersonId? person, IReadOnlyList<PersonId> others, ObservationId? observation,
        IReadOnlyList<Identifier> ids, string? detail, DateTimeOffset at, CancellationToken ct)
    {
        var cmd = Bind(Command("""
            INSERT INTO events (kind, person_id, others, observation_id, ids, detail, at)
            VALUES (@kind, @p, @others, @o, @ids, @detail, @at) RETURNING seq
            """, "kind", "p", "others", "o", "ids", "detail", "at"),
            kind.ToString().ToLowerInvariant(), person?.Value, others.Count == 0 ? null : string.Join(',', others.Select(o => SqlGraphStore.Invariant(o.Value))),
            observation?.Value, ids.Count == 0 ? null : SqlGraphStore.JoinIds(ids), detail, at.ToUnixTimeMilliseconds());
        var seq = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        return new GraphEvent(seq, kind, person, others, observation, ids, detail, DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds()));
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
            ? "SELECT id, ids, source, at, profile, status FROM observations WHERE person_id = @p AND status = 0 ORDER BY id"
            : "SELECT id, ids, source, at, profile, status FROM observations WHERE person_id = @p ORDER BY id", "p"), person.Value);
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
                (ObservationStatus)Convert.ToInt32(reader.GetValue(5), System.Globalization.CultureInfo.InvariantCulture)));
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
                Enum.Parse<GraphEventKind>(reader.GetString(1), ignoreCase: true),
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
        var observations = await Scalar("SELECT COUNT(*) FROM observations").ConfigureAwait(false);
        var conflicts = await Scalar("SELECT COUNT(*) FROM observations WHERE status = 1").ConfigureAwait(false);

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
            FROM identifiers o WHERE o.type = 'openid' GROUP BY o.ns ORDER BY o.ns
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
            JOIN identifiers b ON b.person_id = a.person_id AND b.type = 'openid' AND a.ns < b.ns
            WHERE a.type = 'openid' GROUP BY a.ns, b.ns ORDER BY a.ns, b.ns
            """))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                overlap.Add(new AppOverlap(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
            }
        }

        return new GraphStats(persons, observations, byType.Values.Sum(), conflicts, byType, coverage, overlap);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var cmd in _cache.Values)
        {
            await cmd.DisposeAsync().ConfigureAwait(false);
        }
    }
}
