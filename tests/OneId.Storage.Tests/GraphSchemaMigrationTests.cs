using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Graph;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// A SQLite graph written before graph/007 (identifier rows that stored their type and namespace beside the key) is
/// rebuilt with both computed from the key: every identifier still resolves to its person, and the reads that group by
/// type and namespace (stats, a migration's walk) give what they gave before.
/// </summary>
public sealed class GraphSchemaMigrationTests
{
    private const string OaApp = "wx00000000000000aa";
    private const string MpApp = "wx00000000000000bb";

    private static Identifier OpenId(string app, string who) => Identifier.Parse($"openid:{app}:o{who.PadRight(27, 'x')}");

    private static Identifier UnionId(string who) => Identifier.Parse($"unionid:acme:o{who.PadRight(27, 'u')}");

    [Fact]
    public async Task Identifiers_stored_with_their_type_and_namespace_keep_resolving_after_the_key_holds_them_once()
    {
        using var folder = new TempFolder();
        var path = folder.File("g.db");
        await using (var before = StoreDatabase.Open(path))
        {
            await before.MigrateAsync(GraphSchema.Migrations.TakeWhile(m => m.Name != "graph/007-identifier-key-once"), CancellationToken.None);
            await before.WriteAsync(async (connection, tx) =>
            {
                await using var cmd = connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = $"""
                    INSERT INTO persons (id, created_at) VALUES (1, 0), (2, 0);
                    INSERT INTO identifiers (key, type, ns, person_id) VALUES
                        ('{OpenId(OaApp, "alice")}', 'openid', '{OaApp}', 1),
                        ('{OpenId(MpApp, "alice")}', 'openid', '{MpApp}', 1),
                        ('{UnionId("alice")}', 'unionid', 'acme', 1),
                        ('{OpenId(OaApp, "bob")}', 'openid', '{OaApp}', 2);
                    """;
                return await cmd.ExecuteNonQueryAsync();
            }, CancellationToken.None);
        }

        await using var store = await SqlGraphStore.OpenAsync(path, CancellationToken.None);

        (await store.FindAsync(OpenId(MpApp, "alice"), CancellationToken.None))!.Id.Should().Be(new PersonId(1));
        (await store.FindAsync(OpenId(OaApp, "bob"), CancellationToken.None))!.Id.Should().Be(new PersonId(2));
        var stats = await store.GetStatsAsync(CancellationToken.None);
        stats.IdentifiersByType.Should().Contain("openid", 3).And.Contain("unionid", 1);
        stats.UnionIdCoverage.Should().BeEquivalentTo([new AppCoverage(OaApp, 2, 1), new AppCoverage(MpApp, 1, 1)]);
        stats.Overlap.Should().BeEquivalentTo([new AppOverlap(OaApp, MpApp, 1)]);
        (await store.ListIdentifiersAsync(IdentifierType.OpenId, OaApp, null, 10, CancellationToken.None))
            .Should().Equal(OpenId(OaApp, "alice"), OpenId(OaApp, "bob"));

        // And a new identifier, written as (key, person) only, is read with its type and namespace like the old ones.
        var carol = await store.ObserveAsync(new Observation([OpenId(MpApp, "carol")], "test", DateTimeOffset.UnixEpoch), CancellationToken.None);
        (await store.ListIdentifiersAsync(IdentifierType.OpenId, MpApp, null, 10, CancellationToken.None))
            .Should().Equal(OpenId(MpApp, "alice"), OpenId(MpApp, "carol"));
        carol.Person.Should().NotBeNull();
    }
}
