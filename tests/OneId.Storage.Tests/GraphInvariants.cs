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

        // A replaced identifier is written "old→new": the marks must replay too.
        string Text(Identifier i, IReadOnlyDictionary<Identifier, Identifier> marks) => marks.TryGetValue(i, out var n) ? $"{i}→{n}" : i.ToString();
        var expected = GraphRules.Components(observations.Where(o => o.Status == ObservationStatus.Accepted))
            .Select(c => string.Join(" ", c.Identifiers.Select(i => Text(i, c.ReplacedBy)).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal).ToArray();
        var actual = persons.Values
            .Select(ids => string.Join(" ", ids.Select(i => Text(i, replacedBy)).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal).ToArray();
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
