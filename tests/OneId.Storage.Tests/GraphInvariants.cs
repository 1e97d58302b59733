using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Graph;

namespace OneId.Storage.Tests;

/// <summary>Checks a store against the definition: persons are the components of the accepted observations.</summary>
public static class GraphInvariants
{
    public static async Task AssertMatchesReplayAsync(SqlGraphStore store)
    {
        var (observations, persons) = await ReadAllAsync(store);
        var replacedBy = await ReadReplacedAsync(store);

        // The oracle is computed here from the definition, not with GraphRules.Components, which the store itself uses
        // for retraction: a bug there would otherwise agree with itself.
        var expected = Partition(ExpectedPersons(observations.Where(o => o.Status == ObservationStatus.Accepted)));
        var actual = Partition(persons.Values.Select(ids => ids.Select(i => i.ToString())));
        // Replacement marks by the definition (docs/model.md §3.9): what the accepted observations said was replaced,
        // the first word on an identifier kept.
        var expectedMarks = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in observations.Where(o => o.Status == ObservationStatus.Accepted).OrderBy(o => o.Id))
        {
            foreach (var r in o.Replacements)
            {
                expectedMarks.TryAdd(r.Old.ToString(), r.New.ToString());
            }
        }
        replacedBy.ToDictionary(r => r.Key.ToString(), r => r.Value.ToString()).Should().BeEquivalentTo(expectedMarks, "the replaced marks must replay too");
        actual.Should().Equal(expected, "the persons must equal what replaying the accepted observations from scratch gives");

        foreach (var (person, ids) in persons)
        {
            ids.Where(i => i.IsExclusive && !replacedBy.ContainsKey(i)).GroupBy(i => (i.Type, i.Namespace)).Should()
                .OnlyContain(g => g.Count() == 1, $"person {person} may hold one value per exclusive namespace, not counting replaced ones");
        }
    }

    /// <summary>Every replaced identifier of the store, with its successor.</summary>
    public static async Task<IReadOnlyDictionary<Identifier, Identifier>> ReadReplacedAsync(SqlGraphStore store)
    {
        await using var connection = await store.Database.OpenConnectionAsync(CancellationToken.None);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT key, replaced_by FROM identifiers WHERE replaced_by IS NOT NULL";
        await using var reader = await cmd.ExecuteReaderAsync();
        var map = new Dictionary<Identifier, Identifier>();
        while (await reader.ReadAsync())
        {
            map[Identifier.Parse(reader.GetString(0))] = Identifier.Parse(reader.GetString(1));
        }
        return map;
    }

    /// <summary>
    /// Persons by the definition, the plain way: start with one group per accepted observation that holds an exclusive
    /// identifier, and merge any two groups that share an exclusive identifier until none do. Weak identifiers (phones)
    /// stay with the groups of the observations that carried them and never merge anything.
    /// </summary>
    public static IReadOnlyList<IReadOnlySet<string>> ExpectedPersons(IEnumerable<ObservationRecord> accepted)
    {
        var groups = accepted
            .Where(o => o.Identifiers.Any(i => i.IsExclusive))
            .Select(o => (Exclusive: o.Identifiers.Where(i => i.IsExclusive).Select(i => i.ToString()).ToHashSet(StringComparer.Ordinal),
                All: o.Identifiers.Select(i => i.ToString()).ToHashSet(StringComparer.Ordinal)))
            .ToList();
        // Group a absorbs every later group it shares an identifier with until none is left; a finished group never
        // overlaps a later one, and what a later group absorbs cannot overlap it either, so one pass over a suffices.
        for (var a = 0; a < groups.Count; a++)
        {
            for (var grew = true; grew;)
            {
                grew = false;
                for (var b = groups.Count - 1; b > a; b--)
                {
                    if (groups[a].Exclusive.Overlaps(groups[b].Exclusive))
                    {
                        groups[a].Exclusive.UnionWith(groups[b].Exclusive);
                        groups[a].All.UnionWith(groups[b].All);
                        groups.RemoveAt(b);
                        grew = true;
                    }
                }
            }
        }
        return groups.Select(g => (IReadOnlySet<string>)g.All).ToList();
    }

    /// <summary>A partition of identifiers into persons, in a canonical order, for comparing.</summary>
    public static string[] Partition(IEnumerable<IEnumerable<string>> persons) =>
        persons.Select(ids => string.Join(" ", ids.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))).Order(StringComparer.Ordinal).ToArray();

    public static async Task<(IReadOnlyList<ObservationRecord> Observations, IReadOnlyDictionary<long, List<Identifier>> Persons)> ReadAllAsync(SqlGraphStore store)
    {
        await using var connection = await store.Database.OpenConnectionAsync(CancellationToken.None);
        var observations = new List<ObservationRecord>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT id, ids, status, replaces FROM observations ORDER BY id";
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var ids = reader.GetString(1).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Identifier.Parse).ToArray();
                // Stored as old and new identifier on alternate lines.
                var replaces = reader.IsDBNull(3) ? [] : reader.GetString(3).Split('\n').Select(Identifier.Parse).Chunk(2).Select(p => new Replacement(p[0], p[1])).ToArray();
                observations.Add(new ObservationRecord(new ObservationId(reader.GetInt64(0)), ids, "", default, [], (ObservationStatus)Convert.ToInt32(reader.GetValue(2)))
                {
                    Replacements = replaces,
                });
            }
        }
        var persons = new Dictionary<long, List<Identifier>>();
        await using (var cmd = connection.CreateCommand())
        {
            // A merge only marks the absorbed person: an identifier belongs to the root of the person it names.
            cmd.CommandText = """
                SELECT i.key, COALESCE(p.merged_into, p.id) FROM identifiers i JOIN persons p ON p.id = i.person_id
                UNION ALL SELECT w.key, COALESCE(p.merged_into, p.id) FROM weak_identifiers w JOIN persons p ON p.id = w.person_id
                """;
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var person = reader.GetInt64(1);
                if (!persons.TryGetValue(person, out var list))
                {
                    persons[person] = list = [];
                }
                list.Add(Identifier.Parse(reader.GetString(0)));
            }
        }
        return (observations, persons);
    }
}
