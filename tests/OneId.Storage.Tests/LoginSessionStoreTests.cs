using System.Data.Common;
using FluentAssertions;
using OneId.Graph;
using OneId.Storage.Hub;
using OneId.Testing;
using Xunit;

namespace OneId.Storage.Tests;

/// <summary>
/// A login's session row is an attachment of its observation: written in the graph's transaction, naming the person
/// the observation resolved to, and never one without the other.
/// </summary>
public abstract class LoginSessionStoreContract
{
    protected abstract Task<string> NewDatabaseAsync();

    protected virtual string Tenant => "logins";

    private const string Mp = "wx00000000000000a1";
    private static readonly DateTimeOffset Expires = DateTimeOffset.UtcNow.AddHours(1);

    private static Observation Login(string who, string hash) =>
        new Observation([Identifier.Parse($"openid:{Mp}:o{who.PadRight(27, 'x')}")], $"mp.login:{Mp}", DateTimeOffset.UtcNow)
        {
            Attachment = new NewSession(hash, Mp, "o" + who, "protected-" + who, Expires),
        };

    private static string Hash(char c) => new(c, 64);

    [StoreFact]
    public async Task Logins_sharing_a_commit_each_get_their_session_naming_their_person()
    {
        await using var storage = await TenantStorage.OpenAsync(await NewDatabaseAsync(), Tenant, TimeProvider.System, CancellationToken.None);

        var results = await storage.Graph.ObserveManyAsync([Login("ann", Hash('a')), Login("ben", Hash('b')), Login("ann", Hash('c'))], CancellationToken.None);

        var sessions = new List<StoredSession?>();
        foreach (var h in new[] { 'a', 'b', 'c' })
        {
            sessions.Add(await storage.Sessions.FindSessionAsync(Hash(h), CancellationToken.None));
        }
        sessions.Select(s => s?.Person).Should().Equal(results[0].Person, results[1].Person, results[0].Person);
        sessions[1]!.ProtectedSessionKey.Should().Be("protected-ben");
        sessions[1]!.OpenId.Should().Be("oben");
    }

    [StoreFact]
    public async Task A_session_that_cannot_be_written_leaves_no_observation_of_its_login()
    {
        await using var storage = await TenantStorage.OpenAsync(await NewDatabaseAsync(), Tenant, TimeProvider.System, CancellationToken.None);
        var first = await storage.Graph.ObserveAsync(Login("cat", Hash('d')), CancellationToken.None);

        // The same token hash again: the session insert fails on its primary key, after the graph's rows.
        var act = () => storage.Graph.ObserveAsync(Login("dan", Hash('d')), CancellationToken.None);

        await act.Should().ThrowAsync<DbException>();
        (await storage.Graph.FindAsync(Identifier.Parse($"openid:{Mp}:o{"dan".PadRight(27, 'x')}"), CancellationToken.None)).Should().BeNull();
        (await storage.Sessions.FindSessionAsync(Hash('d'), CancellationToken.None))!.Person.Should().Be(first.Person);
        (await storage.Graph.GetStatsAsync(CancellationToken.None)).Persons.Should().Be(1);
    }
}

public sealed class SqliteLoginSessionStoreTests : LoginSessionStoreContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File($"{Guid.NewGuid():N}.db"));

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresLoginSessionStoreTests(PostgresFixture postgres) : LoginSessionStoreContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}

/// <summary>On Citus each test is a tenant of its own: a distributed schema, so the session insert must route with the graph's.</summary>
[RequiresCitus]
[Collection(CitusCollection.Name)]
public sealed class CitusLoginSessionStoreTests(CitusFixture citus) : LoginSessionStoreContract
{
    protected override Task<string> NewDatabaseAsync() => Task.FromResult(citus.Cluster.ConnectionString);

    protected override string Tenant { get; } = "t" + Guid.NewGuid().ToString("N")[..12];
}
