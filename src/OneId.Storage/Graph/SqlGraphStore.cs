using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using OneId.Graph;

namespace OneId.Storage.Graph;

/// <summary>
/// The person graph on SQL (SQLite or PostgreSQL, one code path). Each write loads what the rules need, asks
/// <see cref="GraphRules"/>, and writes the answer with its audit events in the same transaction: observation batches
/// beside the tenant's other batches on PostgreSQL (each locks the persons it touches, see <see cref="GraphBatch"/>),
/// operator actions (retract, erase, keep-apart, conflict resolution) under the tenant's exclusive write lock.
/// </summary>
public sealed class SqlGraphStore : IGraphStore
{
    private readonly StoreDatabase _db;
    private readonly bool _ownsDatabase;
    private readonly TimeProvider _time;

    private SqlGraphStore(StoreDatabase db, bool ownsDatabase, TimeProvider time)
    {
        _db = db;
        _ownsDatabase = ownsDatabase;
        _time = time;
        if (db is SqliteDatabase { Tuning.WriterStateMegabytes: > 0 } sqlite)
        {
            _writerState = new WriterState(sqlite.Tuning.WriterStateMegabytes * 1024L * 1024L);
        }
    }

    // SQLite's one writer keeps the keys' owners between its transactions (see WriterState); only batches, under the
    // write gate, read or change it.
    private WriterState? _writerState;

    /// <summary>The writer's state, for tests and the bench; null on PostgreSQL or when turned off.</summary>
    internal WriterState? WriterState => _writerState;

    /// <summary>Tests: a writer state with its own hash function and memory bound, before the first write.</summary>
    internal void UseWriterState(WriterState? state) => _writerState = state;

    /// <summary>What the writer's state saved (SQLite): owner lookups answered without SQL, wrong hints, drops; null without one.</summary>
    public (long KnownAbsent, long Collisions, long Drops, bool Overflowed)? WriterStateCounters =>
        _writerState is { } s ? (s.KnownAbsent, s.Collisions, s.Drops, s.Overflowed) : null;

    public StoreDatabase Database => _db;

    /// <summary>
    /// A graph write; on PostgreSQL the change signal moves as soon as it returns (also when it failed, perhaps after
    /// its commit), so this process's next version read sees it before the write's own notification comes back.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        await WriteAsync(concurrently: false, work, cancellationToken).ConfigureAwait(false);

    private async Task<T> WriteAsync<T>(bool concurrently, Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            return concurrently
                ? await _db.WriteConcurrentlyAsync(work, cancellationToken).ConfigureAwait(false)
                : await _db.WriteAsync(work, _ => _writerState?.Drop(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            (_db as PostgresDatabase)?.Changes.Changed();
        }
    }

    /// <summary>Opens the graph in <paramref name="db"/>, applying its migrations.</summary>
    public static async Task<SqlGraphStore> OpenAsync(StoreDatabase db, CancellationToken cancellationToken, TimeProvider? time = null, bool ownsDatabase = false)
    {
        ArgumentNullException.ThrowIfNull(db);
        await db.MigrateAsync(GraphSchema.Migrations, cancellationToken).ConfigureAwait(false);
        return new SqlGraphStore(db, ownsDatabase, time ?? TimeProvider.System);
    }

    /// <summary>Opens a SQLite file or PostgreSQL connection string (see <see cref="StoreDatabase.Open"/>).</summary>
    public static Task<SqlGraphStore> OpenAsync(string db, CancellationToken cancellationToken, string? tenant = null, SqliteTuning? tuning = null) =>
        OpenAsync(StoreDatabase.Open(db, tenant, tuning), cancellationToken, ownsDatabase: true);

    private volatile IAttachmentWriter[] _attachmentWriters = [];

    /// <summary>
    /// Lets observations carry attachments of <paramref name="writer"/>'s kind (see <see cref="Observation.Attachment"/>).
    /// Registered when the tenant's stores are opened, before the first write.
    /// </summary>
    public void AddAttachmentWriter(IAttachmentWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _attachmentWriters = [.. _attachmentWriters, writer];
    }

    /// <summary>Writes the batch's attachments, kind by kind, in its transaction; an attachment nobody writes fails the batch.</summary>
    private async Task WriteAttachmentsAsync(AttachmentTransaction tx, IReadOnlyList<Observation> observations, IReadOnlyList<ObserveResult> results,
        CancellationToken cancellationToken)
    {
        List<(ObservationAttachment, ObserveResult)>? items = null;
        for (var i = 0; i < observations.Count; i++)
        {
            if (observations[i].Attachment is { } a)
            {
                (items ??= []).Add((a, results[i]));
            }
        }
        if (items is null)
        {
            return;
        }
        var writers = _attachmentWriters;
        foreach (var group in items.GroupBy(item => Array.FindIndex(writers, w => w.Writes(item.Item1))))
        {
            if (group.Key < 0)
            {
                throw new InvalidOperationException($"this graph store has no writer for {group.First().Item1.GetType().Name}: the observation is not written without it");
            }
            await writers[group.Key].WriteAsync(tx, group.ToArray(), cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<ObserveResult> ObserveAsync(Observation observation, CancellationToken cancellationToken) =>
        (await ObserveManyAsync([observation], cancellationToken).ConfigureAwait(false))[0];

    public Task<IReadOnlyList<ObserveResult>> ObserveManyAsync(IReadOnlyList<Observation> observations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observations);
        if (_writerState is { } state)
        {
            return ObserveWithStateAsync(state, observations, cancellationToken);
        }
        // Side by side with the tenant's other batches on PostgreSQL: a batch locks the persons it touches.
        return WriteAsync<IReadOnlyList<ObserveResult>>(concurrently: true, async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            return await new GraphBatch(sql, _time.GetUtcNow()).ApplyAsync(observations,
                (results, ct) => WriteAttachmentsAsync(new AttachmentTransaction(connection, tx, sql), observations, results, ct), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>SQLite: the batch asks the writer's state first and, once committed, tells it what it changed.</summary>
    private async Task<IReadOnlyList<ObserveResult>> ObserveWithStateAsync(WriterState state, IReadOnlyList<Observation> observations, CancellationToken cancellationToken)
    {
        GraphBatch? applied = null;
        long totalChanges = 0;
        var results = await _db.WriteAsync<IReadOnlyList<ObserveResult>>(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            var usable = await state.BeginAsync(sql, cancellationToken).ConfigureAwait(false);
            var batch = new GraphBatch(sql, _time.GetUtcNow(), usable ? state : null);
            var answer = await batch.ApplyAsync(observations,
                (results, ct) => WriteAttachmentsAsync(new AttachmentTransaction(connection, tx, sql), observations, results, ct), cancellationToken).ConfigureAwait(false);
            totalChanges = sql.WriterTotalChanges();
            applied = batch;
            return answer;
        }, committed =>
        {
            if (committed && applied is not null)
            {
                state.Committed(applied.OwnersAfter(), applied.ObservationKeysAfter(), totalChanges);
            }
            else
            {
                state.Drop();
            }
        }, cancellationToken).ConfigureAwait(false);
        return results;
    }

    public Task<RetractResult> RetractAsync(ObservationId observation, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            return await RetractInAsync(sql, observation, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Retracts inside the caller's transaction (a conflict resolution retracts and applies in one).</summary>
    private static async Task<RetractResult> RetractInAsync(GraphCommands sql, ObservationId observation, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (status, personId) = await sql.ObservationStatusAsync(observation, cancellationToken).ConfigureAwait(false)
            ?? throw new UnknownObservationException(observation);
        if (status != (int)ObservationStatus.Accepted)
        {
            throw new InvalidOperationException(status == (int)ObservationStatus.Rejected
                ? $"observation {observation} was rejected as a conflict; only accepted observations can be retracted"
                : $"observation {observation} is already retracted");
        }
        await sql.SetObservationStatusAsync(observation, (int)ObservationStatus.Retracted, cancellationToken).ConfigureAwait(false);
        var events = new List<GraphEvent>();
        if (personId is not { } person)
        {
            events.Add(await sql.InsertEventAsync(GraphEventKind.Retracted, null, [], observation, [], null, now, cancellationToken).ConfigureAwait(false));
            return new RetractResult(observation, [], events);
        }

        // Recompute the person from what remains: it may fall apart into several components.
        var remaining = await sql.ObservationsOfAsync(person, onlyAccepted: true, cancellationToken).ConfigureAwait(false);
        var components = GraphRules.Components(remaining);
        if (components.Select(GraphRules.ActiveConflict).FirstOrDefault(c => c is not null) is { } clash)
        {
            // Only a replacement can do this: without it the old and the new id would both be in effect again.
            throw new InvalidOperationException(
                $"retracting observation {observation} would leave {clash}; retract the observations that name the newer identifier first");
        }
        await sql.DeleteIdentifiersOfAsync(person, cancellationToken).ConfigureAwait(false);
        var persons = new List<PersonId>();
        foreach (var (component, index) in components.Select((c, i) => (c, i)))
        {
            // The part holding the oldest remaining observation keeps the id; the others are new persons.
            var owner = index == 0 ? person : await sql.InsertPersonAsync(now, cancellationToken).ConfigureAwait(false);
            persons.Add(owner);
            await sql.InsertExclusiveAsync(component.Identifiers.Where(i => i.IsExclusive)
                .Select(i => (i, owner.Value)).ToArray(), cancellationToken).ConfigureAwait(false);
            await sql.InsertWeakAsync(component.Identifiers.Where(i => !i.IsExclusive)
                .Select(i => new object?[] { i.ToString(), i.Type.Name, owner.Value }).ToArray(), cancellationToken).ConfigureAwait(false);
            await sql.MarkReplacedAsync(component.ReplacedBy.Select(r => (r.Key.ToString(), r.Value.ToString())).ToArray(), cancellationToken).ConfigureAwait(false);
            if (index > 0)
            {
                await sql.MoveObservationsAsync(component.Observations, owner, cancellationToken).ConfigureAwait(false);
            }
        }
        if (components.Count == 0)
        {
            // Nothing is left of the person: its id (and its aliases) resolve to nothing from now on.
            await sql.MarkGoneAsync(person, cancellationToken).ConfigureAwait(false);
        }
        events.Add(await sql.InsertEventAsync(GraphEventKind.Retracted, person, [], observation, [], null, now, cancellationToken).ConfigureAwait(false));
        if (components.Count > 1)
        {
            events.Add(await sql.InsertEventAsync(GraphEventKind.Split, person, persons.Skip(1).ToArray(), observation, [], null, now, cancellationToken).ConfigureAwait(false));
        }
        return new RetractResult(observation, persons, events);
    }

    public async Task<Person?> FindAsync(Identifier identifier, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        PersonId? person;
        if (identifier.IsExclusive)
        {
            person = await sql.FindExclusiveAsync(identifier.ToString(), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var holders = await sql.FindWeakAsync(identifier.ToString(), cancellationToken).ConfigureAwait(false);
            if (holders.Count > 1)
            {
                throw new AmbiguousIdentifierException(identifier, holders);
            }
            person = holders.Count == 1 ? holders[0] : null;
        }
        return person is { } p ? await LoadPersonAsync(sql, p, cancellationToken).ConfigureAwait(false) : null;
    }

    public async Task<Person?> GetAsync(PersonId id, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.CurrentIdAsync(id, cancellationToken).ConfigureAwait(false) is { } current
            ? await LoadPersonAsync(sql, current, cancellationToken).ConfigureAwait(false)
            : null;
    }

    private static Task<Person> LoadPersonAsync(GraphCommands sql, PersonId id, CancellationToken ct) => sql.LoadPersonAsync(id, ct);

    public async Task<IReadOnlyList<ObservationRecord>> GetObservationsAsync(PersonId id, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.CurrentIdAsync(id, cancellationToken).ConfigureAwait(false) is { } current
            ? await sql.ObservationsOfAsync(current, onlyAccepted: false, cancellationToken).ConfigureAwait(false)
            : [];
    }

    public async Task<IReadOnlyList<GraphEvent>> GetHistoryAsync(PersonId id, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        if (await sql.CurrentIdAsync(id, cancellationToken).ConfigureAwait(false) is not { } current)
        {
            return [];
        }
        var ids = (await sql.AliasesOfAsync(current, cancellationToken).ConfigureAwait(false)).Append(current).ToArray();
        return await sql.EventsOfAsync(ids, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<GraphEvent>> ReadEventsAsync(long afterSequence, int max, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.EventsAfterAsync(afterSequence, Math.Clamp(max, 1, 10_000), cancellationToken).ConfigureAwait(false);
    }

    public async Task<GraphStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.StatsAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DailyCount>> GetGrowthAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.GrowthAsync(since, cancellationToken).ConfigureAwait(false);
    }

    private sealed record VersionAt(long Token, GraphVersion Version);

    private volatile VersionAt? _lastVersion;

    public async Task<GraphVersion> GetVersionAsync(CancellationToken cancellationToken)
    {
        // While the graph's change signal says nothing changed since the last read, the version read then still holds.
        // The token is taken before the read, so a change that lands during it only makes the next call read again.
        var token = _db.ChangeToken(ChangeScope.Graph);
        if (token is { } t && _lastVersion is { } last && last.Token == t)
        {
            return last.Version;
        }
        var version = await ReadVersionAsync(cancellationToken).ConfigureAwait(false);
        if (token is { } seen)
        {
            _lastVersion = new VersionAt(seen, version);
        }
        return version;
    }

    private long _versionReads;

    /// <summary>How many version lookups went to the database (the rest were answered from the change token).</summary>
    public long VersionReads => Interlocked.Read(ref _versionReads);

    private async Task<GraphVersion> ReadVersionAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _versionReads);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        // PostgreSQL: the log's head row counts every committed write (side-by-side writers commit observation ids
        // out of order, so their MAX() need not grow); SQLite's one writer makes both MAX() grow with every write.
        cmd.CommandText = _db.Kind == StoreKind.Postgres
            ? "SELECT writes, seq FROM event_head WHERE id = 1"
            : "SELECT COALESCE((SELECT MAX(id) FROM observations), 0), COALESCE((SELECT MAX(seq) FROM events), 0)";
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new GraphVersion(reader.GetInt64(0), reader.GetInt64(1));
    }

    public Task<bool> EraseProfileAsync(PersonId id, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            if (await sql.CurrentIdAsync(id, cancellationToken).ConfigureAwait(false) is not { } current)
            {
                return false;
            }
            // Private data lives in observations' profiles and in phone identifiers (docs/wechat-api.md §11.1: phone is private).
            await sql.EraseAsync(current, cancellationToken).ConfigureAwait(false);
            await sql.InsertEventAsync(GraphEventKind.Erased, current, [], null, [], null, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<bool> KeepApartAsync(PersonId person, PersonId other, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            var (a, b) = await CurrentPairAsync(sql, person, other, cancellationToken).ConfigureAwait(false);
            if (a == b)
            {
                throw new InvalidOperationException($"{person} and {other} are one person already ({a}); retract the observation that joined them first");
            }
            if ((await sql.KeptApartOfAsync([a.Value], cancellationToken).ConfigureAwait(false)).Any(k => k.B == b))
            {
                return false;
            }
            await sql.InsertKeepApartAsync(a, b, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<bool> LiftKeepApartAsync(PersonId person, PersonId other, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            var (a, b) = await CurrentPairAsync(sql, person, other, cancellationToken).ConfigureAwait(false);
            return await sql.DeleteKeepApartAsync(a, b, cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken);

    private static async Task<(PersonId, PersonId)> CurrentPairAsync(GraphCommands sql, PersonId person, PersonId other, CancellationToken ct) =>
        (await sql.CurrentIdAsync(person, ct).ConfigureAwait(false) ?? throw new UnknownPersonException(person),
         await sql.CurrentIdAsync(other, ct).ConfigureAwait(false) ?? throw new UnknownPersonException(other));

    public async Task<IReadOnlyList<PersonId>> GetKeptApartAsync(PersonId person, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        if (await sql.CurrentIdAsync(person, cancellationToken).ConfigureAwait(false) is not { } current)
        {
            return [];
        }
        return (await sql.KeptApartOfAsync([current.Value], cancellationToken).ConfigureAwait(false)).Select(k => k.B).Distinct().Order().ToArray();
    }

    public async Task<IReadOnlyList<Identifier>> ListIdentifiersAsync(IdentifierType type, string ns, Identifier? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(ns);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.IdentifiersInNamespaceAsync(type.Name, ns, after?.ToString() ?? "", Math.Clamp(limit, 1, 10_000), cancellationToken).ConfigureAwait(false);
    }

    public async Task<ConflictPage> GetConflictsAsync(int offset, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        var rows = await sql.ConflictsAsync(Math.Max(0, offset), Math.Clamp(limit, 1, 500), cancellationToken).ConfigureAwait(false);
        var items = new List<ConflictRecord>(rows.Count);
        foreach (var row in rows)
        {
            items.Add(await DescribeAsync(sql, row, cancellationToken).ConfigureAwait(false));
        }
        var (open, total) = await sql.ConflictCountsAsync(cancellationToken).ConfigureAwait(false);
        return new ConflictPage(items, open, total);
    }

    public async Task<ConflictRecord?> GetConflictAsync(ObservationId id, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.ConflictAsync(id, cancellationToken).ConfigureAwait(false) is { } row
            ? await DescribeAsync(sql, row, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>
    /// The conflict as it stands now: the persons it named (by their current ids), and for an open one the accepted
    /// observations of those persons that carry a disputed value the rejected observation does not: the ones an
    /// operator would retract to apply it.
    /// </summary>
    private static async Task<ConflictRecord> DescribeAsync(GraphCommands sql, StoredConflictRow row, CancellationToken ct)
    {
        var persons = new SortedSet<PersonId>();
        foreach (var p in row.Disputes.SelectMany(d => d.Persons))
        {
            if (await sql.CurrentIdAsync(p, ct).ConfigureAwait(false) is { } current)
            {
                persons.Add(current);
            }
        }
        var inTheWay = new SortedSet<ObservationId>();
        var disputed = row.Disputes.Where(d => !d.IsKeepApart).ToArray();
        if (row.State == ConflictState.Open && disputed.Length > 0)
        {
            var mine = row.Observation.Identifiers.ToHashSet();
            foreach (var person in persons)
            {
                foreach (var o in await sql.ObservationsOfAsync(person, onlyAccepted: true, ct).ConfigureAwait(false))
                {
                    if (o.Identifiers.Any(i => !mine.Contains(i) && disputed.Any(d => d.Type == i.Type.Name && d.Namespace == i.Namespace && d.Values.Contains(i.Value))))
                    {
                        inTheWay.Add(o.Id);
                    }
                }
            }
        }
        return new ConflictRecord(row.Observation, row.Disputes, persons.ToArray(), inTheWay.ToArray(), row.State, row.ResolvedAt, row.AppliedAs, row.Retracted);
    }

    public Task<ConflictResolution> ResolveConflictAsync(ObservationId id, ConflictAction action, IReadOnlyList<ObservationId>? retract, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            var now = _time.GetUtcNow();
            var row = await sql.ConflictAsync(id, cancellationToken).ConfigureAwait(false) ?? throw new UnknownConflictException(id);
            if (row.State != ConflictState.Open)
            {
                throw new ConflictNotResolvableException($"conflict {id} is already {row.State.ToString().ToLowerInvariant()}");
            }
            var before = await DescribeAsync(sql, row, cancellationToken).ConfigureAwait(false);
            if (action == ConflictAction.Dismiss)
            {
                await sql.CloseConflictAsync(id, ConflictState.Dismissed, now, null, [], cancellationToken).ConfigureAwait(false);
                return new ConflictResolution(before with { State = ConflictState.Dismissed, ResolvedAt = now, StandingInTheWay = [] }, null, []);
            }
            if (row.Disputes.Any(d => d.IsKeepApart))
            {
                throw new ConflictNotResolvableException($"conflict {id} would merge persons an operator keeps apart; lift the keep-apart first");
            }
            var toRetract = retract is { Count: > 0 } ? retract : before.StandingInTheWay;
            var retractions = new List<RetractResult>();
            foreach (var o in toRetract.Distinct())
            {
                try
                {
                    retractions.Add(await RetractInAsync(sql, o, now, cancellationToken).ConfigureAwait(false));
                }
                catch (Exception e) when (e is InvalidOperationException or UnknownObservationException)
                {
                    throw new ConflictNotResolvableException($"cannot retract observation {o}: {e.Message}");
                }
            }
            var original = row.Observation;
            var again = new Observation(original.Identifiers, original.Source, original.At, original.Profile, original.Replacements);
            var applied = (await new GraphBatch(sql, now).ApplyAsync([again], cancellationToken).ConfigureAwait(false))[0];
            if (applied.Outcome == ObserveOutcome.Rejected)
            {
                // Throwing rolls the retractions back too: a resolution happens whole or not at all.
                throw new ConflictNotResolvableException(
                    $"observation {id} would still be rejected ({string.Join("; ", applied.Conflicts)}); name the observations to retract");
            }
            var retracted = retractions.Select(r => r.Observation).ToArray();
            await sql.CloseConflictAsync(id, ConflictState.Applied, now, applied.Observation, retracted, cancellationToken).ConfigureAwait(false);
            return new ConflictResolution(before with { State = ConflictState.Applied, ResolvedAt = now, AppliedAs = applied.Observation, Retracted = retracted, StandingInTheWay = [] },
                applied, retractions);
        }, cancellationToken);

    public async Task<IReadOnlyList<SearchHit>> SearchAsync(string query, bool includePrivate, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var q = query.Trim();
        limit = Math.Clamp(limit, 1, 100);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        var found = new List<(string Matched, long Person)>();
        if (q.Length == 0)
        {
            return [];
        }
        if (PersonId.TryParse(q, out var pid))
        {
            if (await sql.CurrentIdAsync(pid, cancellationToken).ConfigureAwait(false) is { } current)
            {
                found.Add((current == pid ? q : $"{q} → {current}", current.Value));
            }
        }
        else if (q.Count(c => c == ':') >= 2)
        {
            // type:namespace:value, whole or a prefix of the value.
            var type = q[..q.IndexOf(':', StringComparison.Ordinal)];
            var weak = IdentifierType.TryFromName(type, out var t) && !t.IsExclusive;
            if (!weak || includePrivate)
            {
                found.AddRange(await sql.KeysWithPrefixAsync(weak ? "weak_identifiers" : "identifiers", q, limit, cancellationToken).ConfigureAwait(false));
            }
        }
        else
        {
            found.AddRange(await sql.KeysWithValuePrefixAsync("identifiers", q, limit, cancellationToken).ConfigureAwait(false));
            if (includePrivate)
            {
                found.AddRange(await sql.KeysWithValuePrefixAsync("weak_identifiers", q, limit, cancellationToken).ConfigureAwait(false));
                found.AddRange(await sql.PersonsByNicknameAsync(q, limit, cancellationToken).ConfigureAwait(false));
            }
        }
        var hits = new List<SearchHit>();
        foreach (var group in found.GroupBy(f => f.Person).Take(limit))
        {
            hits.Add(new SearchHit(await LoadPersonAsync(sql, new PersonId(group.Key), cancellationToken).ConfigureAwait(false), group.First().Matched));
        }
        return hits;
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsDatabase)
        {
            await _db.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static string JoinIds(IEnumerable<Identifier> ids) => string.Join('\n', ids.Select(i => i.ToString()));

    internal static IReadOnlyList<Identifier> SplitIds(string? text) =>
        string.IsNullOrEmpty(text) ? [] : text.Split('\n').Select(Identifier.FromStored).ToArray();

    /// <summary>Replacements as stored: old and new identifier on alternate lines (identifiers never hold a line break).</summary>
    internal static string? ReplacementsText(IReadOnlyList<Replacement> replacements) =>
        replacements.Count == 0 ? null : string.Join('\n', replacements.SelectMany(r => new[] { r.Old.ToString(), r.New.ToString() }));

    internal static IReadOnlyList<Replacement> ParseReplacements(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return [];
        }
        var lines = text.Split('\n');
        var list = new Replacement[lines.Length / 2];
        for (var i = 0; i < list.Length; i++)
        {
            list[i] = new Replacement(Identifier.FromStored(lines[2 * i]), Identifier.FromStored(lines[2 * i + 1]));
        }
        return list;
    }

    internal static string? ProfileJson(IReadOnlyList<ProfileAttribute> profile) =>
        profile.Count == 0 ? null : JsonSerializer.Serialize(profile.Select(a => new StoredAttribute(a.Name, a.Value, (int)a.Tier)), StoreJson.Default.IEnumerableStoredAttribute);

    internal static IReadOnlyList<ProfileAttribute> ParseProfile(string? json) =>
        string.IsNullOrEmpty(json)
            ? []
            : JsonSerializer.Deserialize(json, StoreJson.Default.StoredAttributeArray)!.Select(a => new ProfileAttribute(a.N, a.V, (DataTier)a.T)).ToArray();

    internal static string DisputesJson(IReadOnlyList<Conflict> conflicts) =>
        JsonSerializer.Serialize(conflicts.Select(c => new StoredDispute(c.Type, c.Namespace, [.. c.Values], [.. c.Persons.Select(p => p.Value)])).ToArray(),
            StoreJson.Default.StoredDisputeArray);

    internal static IReadOnlyList<Conflict> ParseDisputes(string? json) =>
        string.IsNullOrEmpty(json)
            ? []
            : JsonSerializer.Deserialize(json, StoreJson.Default.StoredDisputeArray)!.Select(d => new Conflict(d.T, d.N, d.V, d.P.Select(p => new PersonId(p)).ToArray())).ToArray();

    internal static string Invariant(long n) => n.ToString(CultureInfo.InvariantCulture);
}

internal sealed record StoredAttribute(string N, string V, int T);

internal sealed record StoredDispute(string T, string N, string[] V, long[] P);

internal sealed record StoredConflictRow(ObservationRecord Observation, ConflictState State, IReadOnlyList<Conflict> Disputes,
    DateTimeOffset? ResolvedAt, ObservationId? AppliedAs, IReadOnlyList<ObservationId> Retracted);

[System.Text.Json.Serialization.JsonSerializable(typeof(IEnumerable<StoredAttribute>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(StoredAttribute[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(StoredDispute[]))]
internal sealed partial class StoreJson : System.Text.Json.Serialization.JsonSerializerContext;
