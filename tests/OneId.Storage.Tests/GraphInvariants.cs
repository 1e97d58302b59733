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

        // The oracle is computed here from the definition, not with GraphRules.Components, which the store itself uses
        // for retraction: a bug there would otherwise agree with itself.
        var expected = Partition(ExpectedPersons(observations.Where(o => o.Status == ObservationStatus.Accepted)));
        var actual = Partition(persons.Values.Select(ids => ids.Select(i => i.ToString())));
        actual.Should().Equal(expected, "the persons must equal what replaying the accepted observations from scratch gives");

        foreach (var (person, ids) in persons)
        {
            ids.Where(i => i.IsExclusive).GroupBy(i => (i.Type, i.Namespace)).Should()
                .OnlyContain(g => g.Count() == 1, $"person {person} may hold one value per exclusive namespace");
        }
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
        for (var merged = true; merged;)
        {
            merged = false;
            for (var a = 0; a < groups.Count && !merged; a++)
            {
                for (var b = a + 1; b < groups.Count && !merged; b++)
                {
                    if (groups[a].Exclusive.Overlaps(groups[b].Exclusive))
                    {
                        groups[a].Exclusive.UnionWith(groups[b].Exclusive);
                        groups[a].All.UnionWith(groups[b].All);
                        groups.RemoveAt(b);
                        merged = true;
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
            cmd.CommandText = "SELECT id, ids, status FROM observations ORDER BY id";
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var ids = reader.GetString(1).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Identifier.Parse).ToArray();
                observations.Add(new ObservationRecord(new ObservationId(reader.GetInt64(0)), ids, "", default, [], (ObservationStatus)Convert.ToInt32(reader.GetValue(2))));
            }
        }
        var persons = new Dictionary<long, List<Identifier>>();
        await using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT key, person_id FROM identifiers UNION ALL SELECT key, person_id FROM weak_identifiers";
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
