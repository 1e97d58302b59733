using OneId.Graph;

namespace OneId.Storage.Graph;

/// <summary>
/// Applies a batch of observations in one write transaction: it loads, in bulk, every person the batch touches,
/// applies <see cref="GraphRules"/> to each observation in order against that in-memory picture, and then writes
/// the outcome with multi-row inserts; a merge only marks the absorbed person (<see cref="GraphCommands.MarkMergedAsync"/>).
/// Correct because nobody else can change the persons in between: on SQLite the batch is the one writer; on PostgreSQL
/// it locks the persons holding its identifiers (their roots) before it reads them (<see cref="GraphCommands.LockOwnersOfKeysAsync"/>), a new identifier or
/// observation key another writer commits first makes the insert fail and the batch run again, and its events are
/// published last, in commit order. Per-statement overhead, not SQL work, is what limits a row-at-a-time writer, so
/// this is what makes imports run near the speed of a plain upsert.
/// </summary>
internal sealed class GraphBatch(GraphCommands sql, DateTimeOffset now, WriterState? state = null)
{
    private readonly Dictionary<string, long> _ownerOfKey = new(StringComparer.Ordinal);
    private readonly Dictionary<long, PersonWork> _persons = [];
    private readonly Dictionary<long, long> _absorbedInto = [];
    private readonly List<long> _newPersons = [];
    private readonly List<(Identifier Id, long Person)> _newExclusive = [];
    private readonly List<(string Key, string Type, long Person)> _newWeak = [];
    private readonly List<(string Old, string New)> _replacedMarks = [];
    private readonly List<(long Id, int Status, long? Person, Observation Observation, string? Conflict)> _observations = [];
    private readonly List<object?[]> _events = [];
    private Dictionary<string, (long Id, int Status, long? Person)> _storedKeys = [];
    private readonly Dictionary<string, ObserveResult> _keysInBatch = new(StringComparer.Ordinal);
    private readonly List<object?[]> _conflicts = [];
    private List<KeptApart> _keptApart = [];
    private readonly List<long> _holderIds = [];

    private sealed class PersonWork(bool isNew)
    {
        private HashSet<string>? _weakKeys;
        private Dictionary<Identifier, Identifier>? _replacedBy;

        public bool IsNew { get; } = isNew;
        public HashSet<Identifier> Exclusive { get; } = [];

        // Most persons hold no weak identifier and nothing replaced: those sets are made when first needed.
        public HashSet<string> WeakKeys => _weakKeys ??= new(StringComparer.Ordinal);

        public bool HasWeakKeys => _weakKeys is { Count: > 0 };

        /// <summary>Held identifiers that were replaced, with their successors (docs/model.md §3.9); usually empty.</summary>
        public Dictionary<Identifier, Identifier> ReplacedBy => _replacedBy ??= [];

        public bool HasReplaced => _replacedBy is { Count: > 0 };
    }

    public Task<IReadOnlyList<ObserveResult>> ApplyAsync(IReadOnlyList<Observation> observations, CancellationToken ct) =>
        ApplyAsync(observations, null, ct);

    /// <param name="alsoWrite">More writes for the same transaction, given the results: run after the graph's rows and
    /// before the events are published (on PostgreSQL the publication holds the log's head until the commit).</param>
    public async Task<IReadOnlyList<ObserveResult>> ApplyAsync(IReadOnlyList<Observation> observations,
        Func<IReadOnlyList<ObserveResult>, CancellationToken, Task>? alsoWrite, CancellationToken ct)
    {
        await LoadAsync(observations, ct).ConfigureAwait(false);
        await sql.ReserveObservationIdsAsync(ObservationsToApply(observations), ct).ConfigureAwait(false);
        var results = new ObserveResult[observations.Count];
        for (var i = 0; i < observations.Count; i++)
        {
            // Each observation creates at most one person, and only when none of its identifiers has an owner: make
            // sure an id is there for it (PostgreSQL reserves them from a sequence; SQLite never runs out).
            if (sql.PersonIdsLeft == 0 && MayCreatePerson(observations[i]))
            {
                await sql.ReservePersonIdsAsync(PersonsLikelyCreated(observations, i), ct).ConfigureAwait(false);
            }
            results[i] = ApplyOnce(observations[i]);
        }
        var offset = await FlushAsync(alsoWrite is null ? null : c => alsoWrite(results, c), ct).ConfigureAwait(false);
        if (offset != 0)
        {
            for (var i = 0; i < results.Length; i++)
            {
                if (results[i].Events.Count > 0)
                {
                    results[i] = results[i] with { Events = results[i].Events.Select(e => e with { Sequence = e.Sequence + offset }).ToArray() };
                }
            }
        }
        return results;
    }

    /// <summary>How many observations will be applied (and take an id): those not applied before, each key once.</summary>
    private int ObservationsToApply(IReadOnlyList<Observation> observations)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var count = 0;
        foreach (var o in observations)
        {
            if (o.Key is not { } key || (!_storedKeys.ContainsKey(key) && seen.Add(key)))
            {
                count++;
            }
        }
        return count;
    }

    private bool MayCreatePerson(Observation observation)
    {
        if (observation.Exclusive.Count == 0 || (observation.Key is { } key && (_storedKeys.ContainsKey(key) || _keysInBatch.ContainsKey(key))))
        {
            return false;
        }
        foreach (var id in observation.Exclusive)
        {
            if (_ownerOfKey.ContainsKey(id.ToString()))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// A guess, from <paramref name="from"/> on, of how many observations will create a person: those none of whose
    /// identifiers is owned now or named by an earlier one. Exact for streams without conflicts; a guess too high
    /// leaves gaps in the ids, one too low only means another reservation.
    /// </summary>
    private int PersonsLikelyCreated(IReadOnlyList<Observation> observations, int from)
    {
        var named = new HashSet<string>(StringComparer.Ordinal);
        var count = 0;
        for (var i = from; i < observations.Count; i++)
        {
            var o = observations[i];
            if (o.Exclusive.Count == 0 || (o.Key is { } key && (_storedKeys.ContainsKey(key) || _keysInBatch.ContainsKey(key))))
            {
                continue;
            }
            var fresh = true;
            foreach (var id in o.Exclusive)
            {
                var k = id.ToString();
                if (_ownerOfKey.ContainsKey(k) || !named.Add(k))
                {
                    fresh = false;
                }
            }
            if (fresh)
            {
                count++;
            }
        }
        return Math.Max(1, count);
    }

    /// <summary>After the commit: every key the batch loaded or wrote, with the root now holding it (see <see cref="WriterState.Committed"/>).</summary>
    public IEnumerable<(string Key, long Owner)> OwnersAfter() => _ownerOfKey.Select(kv => (kv.Key, Root(kv.Value)));

    /// <summary>After the commit: the observation keys the batch stored.</summary>
    public IEnumerable<string> ObservationKeysAfter() => _keysInBatch.Keys;

    private async Task LoadAsync(IReadOnlyList<Observation> observations, CancellationToken ct)
    {
        var keys = observations.SelectMany(o => o.Exclusive).Select(i => i.ToString()).Distinct(StringComparer.Ordinal).ToArray();
        List<(string Key, long Hint)>? hinted = null;
        if (state is not null)
        {
            // The writer's state answers most keys without SQL: a key it does not know is new; a key it knows names the
            // person to load, and is checked against that person's keys below.
            var unknown = new List<string>();
            hinted = [];
            foreach (var key in keys)
            {
                var hint = state.OwnerHint(state.HashOf(key));
                if (hint != 0)
                {
                    hinted.Add((key, hint));
                }
                else if (state.Complete)
                {
                    state.KnownAbsent++;
                }
                else
                {
                    unknown.Add(key);
                }
            }
            keys = [.. unknown];
        }
        var owners = sql.SideBySide
            ? await sql.LockOwnersOfKeysAsync(keys, ct).ConfigureAwait(false)
            : await sql.OwnersOfKeysAsync(keys, ct).ConfigureAwait(false);
        var persons = owners.Values.Concat(hinted?.Select(h => h.Hint) ?? []).Distinct().ToList();
        await LoadExclusiveKeysAsync(persons, ct).ConfigureAwait(false);
        if (hinted is { Count: > 0 })
        {
            // A hint is right when its person holds the key. Otherwise two keys shared a hash: ask SQL for the key.
            var wrong = hinted.Where(h => !_ownerOfKey.TryGetValue(h.Key, out var owner) || owner != h.Hint).Select(h => h.Key).ToArray();
            if (wrong.Length > 0)
            {
                state!.Collisions += wrong.Length;
                var more = (await sql.OwnersOfKeysAsync(wrong, ct).ConfigureAwait(false)).Values.Distinct().Where(p => !_persons.ContainsKey(p)).ToList();
                await LoadExclusiveKeysAsync(more, ct).ConfigureAwait(false);
                persons.AddRange(more);
            }
        }
        foreach (var (key, person) in await sql.WeakKeysOfPersonsAsync(persons, ct).ConfigureAwait(false))
        {
            _persons[person].WeakKeys.Add(key);
        }
        if (persons.Count > 0)
        {
            foreach (var (key, person, replacedBy) in await sql.ReplacedKeysOfPersonsAsync(persons, ct).ConfigureAwait(false))
            {
                _persons[person].ReplacedBy[Identifier.FromStored(key)] = Identifier.FromStored(replacedBy);
            }
        }
        // Keep-apart constraints are rare: one cheap probe per batch spares the lookup when there are none.
        if (persons.Count > 1 && await sql.AnyKeepApartAsync(ct).ConfigureAwait(false))
        {
            _keptApart = await sql.KeptApartOfAsync(persons, ct).ConfigureAwait(false);
        }
        // A key whose hash the writer's state has never seen was never stored: only the others are looked up.
        var observationKeys = observations.Where(o => o.Key is not null && (state is null || state.MayHaveObservationKey(state.HashOf(o.Key))))
            .Select(o => o.Key!).Distinct(StringComparer.Ordinal).ToArray();
        _storedKeys = await sql.ObservationsByKeyAsync(observationKeys, ct).ConfigureAwait(false);
        await sql.EnsureIdsLoadedAsync(ct).ConfigureAwait(false);
    }

    private async Task LoadExclusiveKeysAsync(IReadOnlyList<long> persons, CancellationToken ct)
    {
        foreach (var p in persons)
        {
            _persons[p] = new PersonWork(isNew: false);
        }
        foreach (var (key, person) in await sql.ExclusiveKeysOfPersonsAsync(persons, ct).ConfigureAwait(false))
        {
            _persons[person].Exclusive.Add(Identifier.FromStored(key));
            _ownerOfKey[key] = person;
        }
    }

    /// <summary>An observation whose key is already stored (or earlier in this batch) is answered, not applied again.</summary>
    private ObserveResult ApplyOnce(Observation observation)
    {
        if (observation.Key is not { } key)
        {
            return Apply(observation);
        }
        if (_keysInBatch.TryGetValue(key, out var first))
        {
            return first with { Person = first.Person is { } p ? new PersonId(Root(p.Value)) : null, NewPerson = false, Events = [], AlreadyApplied = true };
        }
        if (_storedKeys.TryGetValue(key, out var stored))
        {
            var outcome = stored.Status == (int)ObservationStatus.Rejected ? ObserveOutcome.Rejected
                : stored.Person is null ? ObserveOutcome.LinkedNothing
                : ObserveOutcome.Accepted;
            return new ObserveResult(new ObservationId(stored.Id), outcome, stored.Person is { } p ? new PersonId(p) : null, false, [], [])
            {
                AlreadyApplied = true,
            };
        }
        var result = Apply(observation);
        _keysInBatch[key] = result;
        return result;
    }

    /// <summary>The constraints between current holders; persons merged earlier in the batch speak for their roots.</summary>
    private KeptApart[] KeptApartAmong(List<long> holders)
    {
        if (_keptApart.Count == 0 || holders.Count < 2)
        {
            return [];
        }
        var found = new List<KeptApart>();
        foreach (var k in _keptApart)
        {
            var a = Root(k.A.Value);
            var b = Root(k.B.Value);
            if (a != b && holders.Contains(a) && holders.Contains(b))
            {
                found.Add(new KeptApart(new PersonId(a), new PersonId(b)));
            }
        }
        return [.. found];
    }

    private long Root(long person)
    {
        while (_absorbedInto.TryGetValue(person, out var next))
        {
            person = next;
        }
        return person;
    }

    private ObserveResult Apply(Observation observation)
    {
        // The holders in id order (usually none, one or two: a list, not a sorted set per observation).
        var holderIds = _holderIds;
        holderIds.Clear();
        foreach (var id in observation.Exclusive)
        {
            if (_ownerOfKey.TryGetValue(id.ToString(), out var p) && !holderIds.Contains(p = Root(p)))
            {
                holderIds.Add(p);
            }
        }
        holderIds.Sort();
        var holders = holderIds.Count == 0 ? [] : new PersonState[holderIds.Count];
        for (var h = 0; h < holders.Length; h++)
        {
            var work = _persons[holderIds[h]];
            holders[h] = new PersonState(new PersonId(holderIds[h]), work.Exclusive) { Replaced = work.HasReplaced ? work.ReplacedBy.Keys : [] };
        }
        var events = new List<GraphEvent>();
        var obsId = new ObservationId(sql.NextObservationId());

        switch (GraphRules.Decide(observation, holders, KeptApartAmong(holderIds)))
        {
            case ObservationDecision.LinksNothing:
                _observations.Add((obsId.Value, (int)ObservationStatus.Accepted, null, observation, null));
                return new ObserveResult(obsId, ObserveOutcome.LinkedNothing, null, false, [], events);

            case ObservationDecision.Rejected rejected:
            {
                var detail = string.Join("; ", rejected.Conflicts);
                _observations.Add((obsId.Value, (int)ObservationStatus.Rejected, null, observation, detail));
                _conflicts.Add([obsId.Value, (int)ConflictState.Open, SqlGraphStore.DisputesJson(rejected.Conflicts)]);
                var persons = rejected.Conflicts.SelectMany(c => c.Persons).Distinct().Order().ToArray();
                events.Add(Event(GraphEventKind.Conflict, persons.Length > 0 ? persons[0] : null, persons.Skip(1).ToArray(), obsId, observation.Identifiers, detail));
                return new ObserveResult(obsId, ObserveOutcome.Rejected, null, false, rejected.Conflicts, events);
            }

            case ObservationDecision.Accepted accepted:
            {
                var isNew = accepted.Survivor is null;
                long person;
                if (accepted.Survivor is { } survivor)
                {
                    person = survivor.Value;
                }
                else
                {
                    person = sql.NextPersonId();
                    _persons[person] = new PersonWork(isNew: true);
                    _newPersons.Add(person);
                }
                var work = _persons[person];
                foreach (var absorbed in accepted.Absorbed)
                {
                    var gone = _persons[absorbed.Value];
                    foreach (var id in gone.Exclusive)
                    {
                        work.Exclusive.Add(id);
                        _ownerOfKey[id.ToString()] = person;
                    }
                    if (gone.HasWeakKeys)
                    {
                        work.WeakKeys.UnionWith(gone.WeakKeys);
                    }
                    if (gone.HasReplaced)
                    {
                        foreach (var (old, successor) in gone.ReplacedBy)
                        {
                            work.ReplacedBy[old] = successor;
                        }
                    }
                    _absorbedInto[absorbed.Value] = person;
                    _persons.Remove(absorbed.Value);
                }
                _observations.Add((obsId.Value, (int)ObservationStatus.Accepted, person, observation, null));
                if (accepted.Absorbed.Count > 0)
                {
                    events.Add(Event(GraphEventKind.Merged, new PersonId(person), accepted.Absorbed, obsId, [], null));
                }

                var added = new List<Identifier>(accepted.NewIdentifiers);
                foreach (var id in accepted.NewIdentifiers)
                {
                    var key = id.ToString();
                    work.Exclusive.Add(id);
                    _ownerOfKey[key] = person;
                    _newExclusive.Add((id, person));
                }
                foreach (var weak in observation.Weak)
                {
                    var key = weak.ToString();
                    if (work.WeakKeys.Add(key))
                    {
                        _newWeak.Add((key, weak.Type.Name, person));
                        added.Add(weak);
                    }
                }
                if (isNew)
                {
                    events.Insert(0, Event(GraphEventKind.Created, new PersonId(person), [], obsId, added, null));
                }
                else if (added.Count > 0)
                {
                    events.Add(Event(GraphEventKind.Linked, new PersonId(person), [], obsId, added, null));
                }
                foreach (var r in accepted.Replaced)
                {
                    work.ReplacedBy[r.Old] = r.New;
                    _replacedMarks.Add((r.Old.ToString(), r.New.ToString()));
                    events.Add(Event(GraphEventKind.IdentifierReplaced, new PersonId(person), [], obsId, [r.Old, r.New], $"{r.Old} → {r.New}"));
                }
                return new ObserveResult(obsId, ObserveOutcome.Accepted, new PersonId(person), isNew, [], events);
            }

            default:
                throw new InvalidOperationException("unknown decision");
        }
    }

    private GraphEvent Event(GraphEventKind kind, PersonId? person, IReadOnlyList<PersonId> others, ObservationId observation, IReadOnlyList<Identifier> ids, string? detail)
    {
        var e = new GraphEvent(sql.NextEventSequence(), kind, person, others, observation, ids, detail, DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()));
        _events.Add(GraphCommands.EventRow(e));
        return e;
    }

    /// <summary>Writes the batch; answers what to add to its events' sequence numbers (see <see cref="GraphCommands.PublishEventsAsync"/>).</summary>
    private async Task<long> FlushAsync(Func<CancellationToken, Task>? alsoWrite, CancellationToken ct)
    {
        if (sql.SideBySide)
        {
            // New keys in one order for every writer: two batches racing for the same new identifiers (or observation
            // keys) wait for each other in that order instead of deadlocking, and the later one runs again.
            _newExclusive.Sort((a, b) => string.CompareOrdinal(a.Id.ToString(), b.Id.ToString()));
            _observations.Sort((a, b) => string.CompareOrdinal(a.Observation.Key, b.Observation.Key));
        }
        // New persons that were absorbed later in the same batch are born as aliases.
        await sql.InsertPersonsAsync(_newPersons.Select(id => (Id: id, Root: Root(id)))
            .Select(r => new object?[] { r.Id, now.ToUnixTimeMilliseconds(), r.Root != r.Id ? r.Root : null }).ToArray(), ct).ConfigureAwait(false);

        // Persons that existed before the batch and were absorbed are marked merged into their survivor; their rows stay.
        var born = _newPersons.ToHashSet();
        var merges = _absorbedInto.Keys.Where(p => !born.Contains(p)).Select(p => (Old: p, Root: Root(p))).ToArray();
        await sql.MarkMergedAsync(merges, ct).ConfigureAwait(false);

        await sql.InsertExclusiveAsync(_newExclusive.Select(r => (r.Id, Root(r.Person))).ToArray(), ct).ConfigureAwait(false);
        await sql.InsertWeakAsync(_newWeak.Select(r => new object?[] { r.Key, r.Type, Root(r.Person) }).ToArray(), ct).ConfigureAwait(false);
        await sql.MarkReplacedAsync(_replacedMarks, ct).ConfigureAwait(false);
        await sql.InsertObservationsAsync(_observations.Select(o => new object?[]
        {
            o.Id, o.Status, o.Person is { } p ? Root(p) : null, o.Observation.Source, o.Observation.At.ToUnixTimeMilliseconds(),
            SqlGraphStore.JoinIds(o.Observation.Identifiers), SqlGraphStore.ProfileJson(o.Observation.Profile), o.Conflict, o.Observation.Key,
            SqlGraphStore.ReplacementsText(o.Observation.Replacements),
        }).ToArray(), ct).ConfigureAwait(false);
        await sql.InsertConflictsAsync(_conflicts, ct).ConfigureAwait(false);
        if (alsoWrite is not null)
        {
            await alsoWrite(ct).ConfigureAwait(false);
        }
        // Last: on PostgreSQL the publication holds the log's head until the commit.
        return _observations.Count > 0 ? await sql.PublishEventsAsync(_events, ct).ConfigureAwait(false) : 0;
    }
}
