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
    IReadOnlyList<GraphEvent> Events);

/// <summary>
/// A value that changes with every write to a tenant's graph: each write appends an observation or an event (erasure
/// and retraction write events), and both ids only grow. Reads may be cached while it stays the same.
/// </summary>
public readonly record struct GraphVersion(long Observations, long Events);

public sealed record RetractResult(ObservationId Observation, IReadOnlyList<PersonId> Persons, IReadOnlyList<GraphEvent> Events);

public sealed record GraphStats(
    long Persons,
    long Observations,
    long Identifiers,
    long Conflicts,
    IReadOnlyDictionary<string, long> IdentifiersByType,
    IReadOnlyList<AppCoverage> UnionIdCoverage,
    IReadOnlyList<AppOverlap> Overlap);

/// <summary>Of the persons holding an openid of <paramref name="AppId"/>, how many also hold a unionid.</summary>
public sealed record AppCoverage(string AppId, long Persons, long WithUnionId)
{
    public double Share => Persons == 0 ? 0 : (double)WithUnionId / Persons;
}

/// <summary>Persons holding openids of both apps.</summary>
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

    /// <summary>The graph's current version: one cheap read, so that caches can check every request against it.</summary>
    Task<GraphVersion> GetVersionAsync(CancellationToken cancellationToken);

    /// <summary>Erases private profile data of the person everywhere it is kept (PIPL); identifiers stay. False when unknown.</summary>
    Task<bool> EraseProfileAsync(PersonId id, CancellationToken cancellationToken);
}
