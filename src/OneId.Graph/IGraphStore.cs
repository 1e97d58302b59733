namespace OneId.Graph;

public enum ObserveOutcome
{
    /// <summary>Accepted: the person now holds every identifier of the observation.</summary>
    Accepted,
    /// <summary>Rejected whole as a conflict; nothing changed but the conflict record.</summary>
    Rejected,
    /// <summary>Only weak identifiers: stored, linked nothing.</summary>
    LinkedNothing,
}

public sealed record ObserveResult(
    ObservationId Observation,
    ObserveOutcome Outcome,
    PersonId? Person,
    bool NewPerson,
    IReadOnlyList<Conflict> Conflicts,
    IReadOnlyList<GraphEvent> Events)
{
    /// <summary>
    /// The store already held an observation with the same <see cref="Observation.Key"/>: nothing was written, and
    /// <see cref="Observation"/>, <see cref="Outcome"/> and <see cref="Person"/> are those of the first application.
    /// </summary>
    public bool AlreadyApplied { get; init; }
}

/// <summary>
/// A value that changes with every write to a tenant's graph: each write appends an observation or an event (erasure
/// and retraction write events), and both ids only grow. On PostgreSQL, where writers commit observation ids out of
/// order, <c>Observations</c> counts committed graph writes instead. Reads may be cached while it stays the same.
/// </summary>
public readonly record struct GraphVersion(long Observations, long Events);

public sealed record RetractResult(ObservationId Observation, IReadOnlyList<PersonId> Persons, IReadOnlyList<GraphEvent> Events);

/// <summary>What a graph holds.</summary>
/// <param name="Observations">Observations in effect: accepted ones (linked to a person) and weak-only ones; rejected and
/// retracted observations are counted apart.</param>
/// <param name="Conflicts">Observations rejected as conflicts (the same as <see cref="ObservationCounts.Rejected"/>).</param>
public sealed record GraphStats(
    long Persons,
    long Observations,
    long Identifiers,
    long Conflicts,
    IReadOnlyDictionary<string, long> IdentifiersByType,
    IReadOnlyList<AppCoverage> UnionIdCoverage,
    IReadOnlyList<AppOverlap> Overlap)
{
    public ObservationCounts ObservationsByOutcome { get; init; } = new(0, 0, 0, 0);
}

/// <summary>Stored observations by what became of them.</summary>
/// <param name="Accepted">Accepted and linked to a person.</param>
/// <param name="Rejected">Rejected whole as a conflict.</param>
/// <param name="WeakOnly">Only weak identifiers: kept, linked nothing.</param>
/// <param name="Retracted">Accepted once, retracted since.</param>
public sealed record ObservationCounts(long Accepted, long Rejected, long WeakOnly, long Retracted)
{
    public long Total => Accepted + Rejected + WeakOnly + Retracted;
}

/// <summary>
/// Of the persons holding an openid of <paramref name="AppId"/> in effect, how many also hold a unionid. Replaced openids
/// do not count: after an OA account migration the old appid's openids are the new appid's persons.
/// </summary>
public sealed record AppCoverage(string AppId, long Persons, long WithUnionId)
{
    public double Share => Persons == 0 ? 0 : (double)WithUnionId / Persons;
}

public sealed record DailyCount(DateOnly Day, long Persons);

/// <summary>Persons holding openids of both apps, neither replaced.</summary>
public sealed record AppOverlap(string AppA, string AppB, long Persons);

/// <summary>The identifier is weak and several persons hold it; name a stronger one.</summary>
public sealed class AmbiguousIdentifierException(Identifier identifier, IReadOnlyList<PersonId> persons)
    : Exception($"{identifier} is held by {persons.Count} persons ({string.Join(", ", persons)}); resolve by a strong identifier")
{
    public Identifier Identifier { get; } = identifier;
    public IReadOnlyList<PersonId> Persons { get; } = persons;
}

/// <summary>The observation does not exist.</summary>
public sealed class UnknownObservationException(ObservationId id) : Exception($"observation {id} does not exist")
{
    public ObservationId Observation { get; } = id;
}

/// <summary>
/// The person graph of one tenant. Every write applies the rules inside one transaction together with its audit
/// events, so readers never see half a merge.
/// </summary>
public interface IGraphStore : IAsyncDisposable
{
    Task<ObserveResult> ObserveAsync(Observation observation, CancellationToken cancellationToken);

    /// <summary>Applies observations in order, in one transaction (for imports and backfills).</summary>
    Task<IReadOnlyList<ObserveResult>> ObserveManyAsync(IReadOnlyList<Observation> observations, CancellationToken cancellationToken);

    /// <summary>Retracts an observation: its persons are recomputed from what remains and may split.</summary>
    Task<RetractResult> RetractAsync(ObservationId observation, CancellationToken cancellationToken);

    /// <summary>The person holding <paramref name="identifier"/>, or null.</summary>
    /// <exception cref="AmbiguousIdentifierException">A weak identifier held by several persons.</exception>
    Task<Person?> FindAsync(Identifier identifier, CancellationToken cancellationToken);

    /// <summary>The person with this id or alias, or null.</summary>
    Task<Person?> GetAsync(PersonId id, CancellationToken cancellationToken);

    Task<IReadOnlyList<ObservationRecord>> GetObservationsAsync(PersonId id, CancellationToken cancellationToken);

    Task<IReadOnlyList<GraphEvent>> GetHistoryAsync(PersonId id, CancellationToken cancellationToken);

    /// <summary>Events after <paramref name="afterSequence"/>, oldest first: the outbox feed.</summary>
    Task<IReadOnlyList<GraphEvent>> ReadEventsAsync(long afterSequence, int max, CancellationToken cancellationToken);

    Task<GraphStats> GetStatsAsync(CancellationToken cancellationToken);

    /// <summary>Persons created per UTC day since <paramref name="since"/> that still exist (not merged away, not gone), oldest day first.</summary>
    Task<IReadOnlyList<DailyCount>> GetGrowthAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>The graph's current version: one cheap read, so that caches can check every request against it.</summary>
    Task<GraphVersion> GetVersionAsync(CancellationToken cancellationToken);

    /// <summary>Erases private profile data of the person everywhere it is kept (PIPL); identifiers stay. False when unknown.</summary>
    Task<bool> EraseProfileAsync(PersonId id, CancellationToken cancellationToken);

    /// <summary>
    /// Says that two persons are different people: from now on an observation that would merge them is rejected as a
    /// conflict. The constraint follows each person through later merges. True when added, false when it already held.
    /// </summary>
    /// <exception cref="UnknownPersonException">Either id names nobody.</exception>
    /// <exception cref="InvalidOperationException">Both ids name the same person already.</exception>
    Task<bool> KeepApartAsync(PersonId person, PersonId other, CancellationToken cancellationToken);

    /// <summary>Lifts a keep-apart constraint. False when there was none.</summary>
    /// <exception cref="UnknownPersonException">Either id names nobody.</exception>
    Task<bool> LiftKeepApartAsync(PersonId person, PersonId other, CancellationToken cancellationToken);

    /// <summary>The persons <paramref name="person"/> is kept apart from (current ids).</summary>
    Task<IReadOnlyList<PersonId>> GetKeptApartAsync(PersonId person, CancellationToken cancellationToken);

    /// <summary>
    /// The identifiers of one type and namespace that a migration still has to convert, in key order after
    /// <paramref name="after"/>: in effect (not replaced) and not themselves the successor of a replaced identifier (a
    /// successor is new already: sending it again would map it to itself). Every openid of an old appid, every old
    /// external_userid a provider app saw.
    /// </summary>
    Task<IReadOnlyList<Identifier>> ListIdentifiersAsync(IdentifierType type, string ns, Identifier? after, int limit, CancellationToken cancellationToken);

    /// <summary>Conflicts, open ones first (newest first within each state), a page at a time.</summary>
    Task<ConflictPage> GetConflictsAsync(int offset, int limit, CancellationToken cancellationToken);

    /// <summary>One conflict by the id of its rejected observation, or null.</summary>
    Task<ConflictRecord?> GetConflictAsync(ObservationId id, CancellationToken cancellationToken);

    /// <summary>
    /// Closes an open conflict. <see cref="ConflictAction.Apply"/> retracts <paramref name="retract"/> (by default the
    /// observations standing in the way) and applies the rejected observation again, all in one transaction: when it
    /// would still be rejected nothing changes.
    /// </summary>
    /// <exception cref="UnknownConflictException">No such conflict.</exception>
    /// <exception cref="ConflictNotResolvableException">Already closed, or applying would still conflict.</exception>
    Task<ConflictResolution> ResolveConflictAsync(ObservationId id, ConflictAction action, IReadOnlyList<ObservationId>? retract, CancellationToken cancellationToken);

    /// <summary>
    /// Persons by a whole identifier, an identifier prefix (<c>type:namespace:value-prefix</c>), a bare value prefix, a
    /// person id or alias; with <paramref name="includePrivate"/> also by phone (weak identifiers) and nickname.
    /// </summary>
    Task<IReadOnlyList<SearchHit>> SearchAsync(string query, bool includePrivate, int limit, CancellationToken cancellationToken);
}
