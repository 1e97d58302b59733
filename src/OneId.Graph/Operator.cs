namespace OneId.Graph;

/// <summary>Where a conflict stands. The values are stored: never renumber them.</summary>
public enum ConflictState
{
    /// <summary>Waiting for an operator.</summary>
    Open = 0,
    /// <summary>The operator agreed with the rejection; the observation stays rejected.</summary>
    Dismissed = 1,
    /// <summary>The operator retracted what stood in the way and the rejected observation was applied.</summary>
    Applied = 2,
}

/// <summary>
/// A rejected observation as an operator sees it: what was observed, which values it disputes in which persons, and
/// which accepted observations stand in its way (the ones carrying the other values).
/// </summary>
public sealed record ConflictRecord(
    ObservationRecord Observation,
    IReadOnlyList<Conflict> Disputes,
    IReadOnlyList<PersonId> Persons,
    IReadOnlyList<ObservationId> StandingInTheWay,
    ConflictState State,
    DateTimeOffset? ResolvedAt,
    ObservationId? AppliedAs,
    IReadOnlyList<ObservationId> Retracted)
{
    public ObservationId Id => Observation.Id;
}

public sealed record ConflictPage(IReadOnlyList<ConflictRecord> Items, long Open, long Total);

/// <summary>What an operator decides about a conflict.</summary>
public enum ConflictAction
{
    /// <summary>Leave the observation rejected; the conflict is closed.</summary>
    Dismiss,
    /// <summary>Retract the observations standing in the way, then apply the rejected one.</summary>
    Apply,
}

public sealed record ConflictResolution(ConflictRecord Conflict, ObserveResult? Applied, IReadOnlyList<RetractResult> Retractions);

/// <summary>A conflict cannot be resolved that way (already closed, or the observation would still be rejected).</summary>
public sealed class ConflictNotResolvableException(string message) : Exception(message);

/// <summary>No such conflict (the observation is unknown or was never rejected).</summary>
public sealed class UnknownConflictException(ObservationId id) : Exception($"observation {id} is not a conflict")
{
    public ObservationId Observation { get; } = id;
}

/// <summary>A person id or alias that names nobody (never existed, or nothing is left of it).</summary>
public sealed class UnknownPersonException(PersonId id) : Exception($"no person or alias {id}")
{
    public PersonId Person { get; } = id;
}

/// <summary>One person found by a search, with what matched.</summary>
public sealed record SearchHit(Person Person, string Matched);
