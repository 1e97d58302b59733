namespace OneId.Graph;

/// <summary>A person: one connected component of the accepted observations.</summary>
public sealed record Person(
    PersonId Id,
    IReadOnlyList<PersonId> Aliases,
    IReadOnlyList<Identifier> Identifiers,
    IReadOnlyList<ProfileAttribute> Profile,
    DateTimeOffset CreatedAt)
{
    /// <summary>
    /// The person's identifiers that were replaced (docs/model.md §3.9), each with the identifier that replaced it.
    /// Both are in <see cref="Identifiers"/>: an old id keeps resolving to the person.
    /// </summary>
    public IReadOnlyDictionary<Identifier, Identifier> ReplacedBy { get; init; } = new Dictionary<Identifier, Identifier>();

    /// <summary>
    /// The profile a person shows is the newest real value of each attribute over its accepted observations.
    /// It is derived, never stored on the person, so merges, splits and erasure need no profile bookkeeping.
    /// </summary>
    public static IReadOnlyList<ProfileAttribute> DeriveProfile(IEnumerable<ObservationRecord> observations) =>
        observations.OrderBy(o => o.At).ThenBy(o => o.Id)
                    .SelectMany(o => o.Profile)
                    .GroupBy(a => a.Name, StringComparer.Ordinal)
                    .Select(g => g.Last())
                    .OrderBy(a => a.Name, StringComparer.Ordinal)
                    .ToArray();
}
