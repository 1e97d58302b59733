namespace OneId.Graph;

/// <summary>The exclusive identifiers a person holds now, as the rules need to see it.</summary>
/// <remarks>
/// <see cref="Replaced"/> are the held identifiers marked replaced (docs/model.md §3.9): they keep resolving to the
/// person but no longer occupy their namespace.
/// </remarks>
public sealed record PersonState(PersonId Id, IReadOnlyCollection<Identifier> Identifiers)
{
    public IReadOnlyCollection<Identifier> Replaced { get; init; } = [];
}

/// <summary>Two or more values in one exclusive (type, namespace), and the persons that would have been joined.</summary>
/// <remarks>
/// A keep-apart conflict has <see cref="Type"/> <c>keep_apart</c>, no namespace and no values: the observation would
/// have merged two persons that an operator said are different people.
/// </remarks>
public sealed record Conflict(string Type, string Namespace, IReadOnlyList<string> Values, IReadOnlyList<PersonId> Persons)
{
    public const string KeepApartType = "keep_apart";

    public bool IsKeepApart => Type == KeepApartType;

    public static Conflict KeepApart(PersonId a, PersonId b) => new(KeepApartType, "", [], a.Value < b.Value ? [a, b] : [b, a]);

    public override string ToString() => IsKeepApart
        ? $"persons {string.Join(" and ", Persons)} are kept apart"
        : $"{Type}:{Namespace} would hold {string.Join(" and ", Values)}" +
          (Persons.Count > 0 ? $" (persons {string.Join(", ", Persons)})" : "");
}

/// <summary>An operator's constraint: two persons are different people and must never merge.</summary>
public readonly record struct KeptApart(PersonId A, PersonId B)
{
    public bool Joins(PersonId x, PersonId y) => (A == x && B == y) || (A == y && B == x);
}

/// <summary>What applying one observation does to the graph.</summary>
public abstract record ObservationDecision
{
    private ObservationDecision() { }

    /// <summary>Only weak identifiers: stored, links nothing.</summary>
    public sealed record LinksNothing : ObservationDecision;

    /// <summary>Would give a person two values in one exclusive namespace: rejected whole, recorded as a conflict.</summary>
    public sealed record Rejected(IReadOnlyList<Conflict> Conflicts) : ObservationDecision;

    /// <summary>
    /// Accepted. <paramref name="Survivor"/> is null when no person holds any of its identifiers yet (a new person);
    /// <paramref name="Absorbed"/> are the persons merged into the survivor; <paramref name="NewIdentifiers"/> are the
    /// exclusive identifiers the survivor did not hold before.
    /// </summary>
    public sealed record Accepted(PersonId? Survivor, IReadOnlyList<PersonId> Absorbed, IReadOnlyList<Identifier> NewIdentifiers) : ObservationDecision
    {
        /// <summary>The replacements to mark: each old identifier is replaced by its new one from now on (docs/model.md §3.9).</summary>
        public IReadOnlyList<Replacement> Replaced { get; init; } = [];
    }
}

/// <summary>
/// The linking rules (docs/model.md §3), as pure functions. Stores load the state the rules need, ask, and write the answer
/// inside one transaction; nothing here does I/O.
/// </summary>
public static class GraphRules
{
    /// <param name="observation">The observation to apply.</param>
    /// <param name="holders">Every person that holds one of the observation's exclusive identifiers, with all their exclusive identifiers.</param>
    public static ObservationDecision Decide(Observation observation, IReadOnlyCollection<PersonState> holders) =>
        Decide(observation, holders, []);

    /// <param name="observation">The observation to apply.</param>
    /// <param name="holders">Every person that holds one of the observation's exclusive identifiers, with all their exclusive identifiers.</param>
    /// <param name="keptApart">The keep-apart constraints that name any of the holders (others are ignored).</param>
    public static ObservationDecision Decide(Observation observation, IReadOnlyCollection<PersonState> holders, IReadOnlyCollection<KeptApart> keptApart)
    {
        ArgumentNullException.ThrowIfNull(keptApart);
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(holders);
        var incoming = observation.Exclusive;
        if (incoming.Count == 0)
        {
            return new ObservationDecision.LinksNothing();
        }
        var retired = Retired(observation, holders);
        if (HasConflict(incoming, holders, retired))
        {
            return new ObservationDecision.Rejected(DescribeConflicts(incoming, holders, retired));
        }
        var replaced = ToMark(observation, holders);
        if (holders.Count == 0)
        {
            return new ObservationDecision.Accepted(null, [], incoming) { Replaced = replaced };
        }
        if (holders.Count > 1 && keptApart.Count > 0 && KeptApartAmong(holders, keptApart) is { Count: > 0 } apart)
        {
            // Rejected whole, like a namespace conflict: merging would undo an operator's decision.
            return new ObservationDecision.Rejected(apart);
        }
        // Stable ids: the person created first survives. Ids come from a sequence, so the lowest is the oldest.
        var survivor = holders.Min(h => h.Id);
        var held = new HashSet<Identifier>();
        foreach (var h in holders)
        {
            held.UnionWith(h.Identifiers);
        }
        var absorbed = holders.Count == 1 ? [] : holders.Select(h => h.Id).Where(id => id != survivor).Distinct().Order().ToArray();
        return new ObservationDecision.Accepted(survivor, absorbed, incoming.Where(i => !held.Contains(i)).ToArray()) { Replaced = replaced };
    }

    /// <summary>
    /// The identifiers that no longer occupy their namespace once the observation is applied: those the holders
    /// already hold as replaced, and the observation's own old ones. Null (the common case) when there are none.
    /// A replaced identifier stays replaced whatever later observation names it again, so that an old id arriving
    /// late (a delayed push, an old import line) links to the person instead of conflicting with its successor.
    /// </summary>
    private static HashSet<Identifier>? Retired(Observation observation, IReadOnlyCollection<PersonState> holders)
    {
        HashSet<Identifier>? retired = null;
        foreach (var r in observation.Replacements)
        {
            (retired ??= []).Add(r.Old);
        }
        foreach (var h in holders)
        {
            foreach (var id in h.Replaced)
            {
                (retired ??= []).Add(id);
            }
        }
        return retired;
    }

    /// <summary>The observation's replacements that are not marked yet (a replacement said twice is marked once).</summary>
    private static Replacement[] ToMark(Observation observation, IReadOnlyCollection<PersonState> holders)
    {
        if (observation.Replacements.Count == 0)
        {
            return [];
        }
        return observation.Replacements.Where(r => !holders.Any(h => h.Replaced.Contains(r.Old))).ToArray();
    }

    /// <summary>
    /// The person the observation would produce holds the union of all holders' identifiers and its own; a conflict
    /// is two values in one exclusive (type, namespace), not counting replaced ones. This runs for every observation
    /// of an import, so no LINQ.
    /// </summary>
    private static bool HasConflict(IReadOnlyList<Identifier> incoming, IReadOnlyCollection<PersonState> holders, HashSet<Identifier>? retired)
    {
        var values = new Dictionary<(IdentifierType, string), string>();
        foreach (var id in incoming)
        {
            if (retired is not null && retired.Contains(id))
            {
                continue;
            }
            if (values.TryGetValue((id.Type, id.Namespace), out var v) && !string.Equals(v, id.Value, StringComparison.Ordinal))
            {
                return true;
            }
            values[(id.Type, id.Namespace)] = id.Value;
        }
        foreach (var h in holders)
        {
            foreach (var id in h.Identifiers)
            {
                if (retired is not null && retired.Contains(id))
                {
                    continue;
                }
                if (values.TryGetValue((id.Type, id.Namespace), out var v) && !string.Equals(v, id.Value, StringComparison.Ordinal))
                {
                    return true;
                }
                values[(id.Type, id.Namespace)] = id.Value;
            }
        }
        return false;
    }

    private static List<Conflict> KeptApartAmong(IReadOnlyCollection<PersonState> holders, IReadOnlyCollection<KeptApart> keptApart)
    {
        var found = new List<Conflict>();
        foreach (var k in keptApart)
        {
            var hasA = false;
            var hasB = false;
            foreach (var h in holders)
            {
                hasA |= h.Id == k.A;
                hasB |= h.Id == k.B;
            }
            if (hasA && hasB && k.A != k.B && !found.Exists(c => c.Persons.Contains(k.A) && c.Persons.Contains(k.B)))
            {
                found.Add(Conflict.KeepApart(k.A, k.B));
            }
        }
        return found;
    }

    private static Conflict[] DescribeConflicts(IReadOnlyList<Identifier> incoming, IReadOnlyCollection<PersonState> holders, HashSet<Identifier>? retired) =>
        holders.SelectMany(h => h.Identifiers.Select(i => (Id: i, Person: (PersonId?)h.Id)))
            .Concat(incoming.Select(i => (Id: i, Person: (PersonId?)null)))
            .Where(x => x.Id.IsExclusive && retired?.Contains(x.Id) != true)
            .GroupBy(x => (x.Id.Type, x.Id.Namespace))
            .Where(g => g.Select(x => x.Id.Value).Distinct(StringComparer.Ordinal).Count() > 1)
            .Select(g => new Conflict(
                g.Key.Type.Name,
                g.Key.Namespace,
                g.Select(x => x.Id.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
                g.Where(x => x.Person is not null).Select(x => x.Person!.Value).Distinct().Order().ToArray()))
            .ToArray();

    /// <summary>
    /// The persons that a set of accepted observations forms: connected components over shared exclusive identifiers.
    /// Components come back ordered by their oldest observation, so after a retraction the first keeps the person's id.
    /// Weak identifiers go with the component of the observation that carried them; weak-only observations join none.
    /// </summary>
    public static IReadOnlyList<Component> Components(IEnumerable<ObservationRecord> acceptedObservations)
    {
        var observations = acceptedObservations.Where(o => o.Identifiers.Any(i => i.IsExclusive)).OrderBy(o => o.Id).ToArray();
        var parent = new Dictionary<Identifier, Identifier>();

        Identifier Find(Identifier x)
        {
            while (true)
            {
                var p = parent[x];
                if (p.Equals(x))
                {
                    return x;
                }
                var gp = parent[p];
                parent[x] = gp; // path halving
                x = gp;
            }
        }

        foreach (var o in observations)
        {
            Identifier? first = null;
            foreach (var id in o.Identifiers.Where(i => i.IsExclusive))
            {
                parent.TryAdd(id, id);
                if (first is null)
                {
                    first = id;
                    continue;
                }
                var a = Find(first.Value);
                var b = Find(id);
                if (!a.Equals(b))
                {
                    parent[b] = a;
                }
            }
        }

        return observations
            .GroupBy(o => Find(o.Identifiers.First(i => i.IsExclusive)))
            .Select(g => new Component(
                g.Select(o => o.Id).Order().ToArray(),
                g.SelectMany(o => o.Identifiers).Distinct().OrderBy(i => i.ToString(), StringComparer.Ordinal).ToArray())
            {
                ReplacedBy = ReplacedIn(g),
            })
            .OrderBy(c => c.Observations[0])
            .ToArray();
    }

    /// <summary>
    /// What the component's observations replaced. An identifier said to be replaced twice keeps its first
    /// replacement, as when the observations were applied one by one (<see cref="Decide(Observation, IReadOnlyCollection{PersonState}, IReadOnlyCollection{KeptApart})"/> marks an identifier once).
    /// </summary>
    private static IReadOnlyDictionary<Identifier, Identifier> ReplacedIn(IEnumerable<ObservationRecord> observations)
    {
        Dictionary<Identifier, Identifier>? map = null;
        foreach (var o in observations.OrderBy(o => o.Id))
        {
            foreach (var r in o.Replacements)
            {
                (map ??= []).TryAdd(r.Old, r.New);
            }
        }
        return map ?? EmptyReplacements;
    }

    private static readonly IReadOnlyDictionary<Identifier, Identifier> EmptyReplacements = new Dictionary<Identifier, Identifier>();

    /// <summary>
    /// Two values in one exclusive namespace among a component's identifiers that are not replaced. Accepted
    /// observations never produce one, but retracting a replacement can (the old and the new id both active again):
    /// the store refuses such a retraction.
    /// </summary>
    public static Conflict? ActiveConflict(Component component)
    {
        ArgumentNullException.ThrowIfNull(component);
        var clash = component.Identifiers
            .Where(i => i.IsExclusive && !component.ReplacedBy.ContainsKey(i))
            .GroupBy(i => (i.Type, i.Namespace))
            .FirstOrDefault(g => g.Count() > 1);
        return clash is null ? null : new Conflict(clash.Key.Type.Name, clash.Key.Namespace, clash.Select(i => i.Value).Order(StringComparer.Ordinal).ToArray(), []);
    }
}

/// <summary>One person as recomputed from its observations.</summary>
public sealed record Component(IReadOnlyList<ObservationId> Observations, IReadOnlyList<Identifier> Identifiers)
{
    /// <summary>The component's identifiers that are replaced, with what replaced each (docs/model.md §3.9).</summary>
    public IReadOnlyDictionary<Identifier, Identifier> ReplacedBy { get; init; } = new Dictionary<Identifier, Identifier>();
}
