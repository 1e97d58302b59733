using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Graph;
using OneId.Server.Tenants;
using OneId.Storage;
using OneId.Testing;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>
/// A login writes its observation and its session in one transaction: when the session row cannot be written, the
/// login fails and the graph holds nothing of it; a later login of the same user (with a new code) works as usual.
/// </summary>
public abstract class LoginTransactionTests
{
    protected abstract Task<string> NewDatabaseAsync();

    /// <summary>SQL that makes every insert into hub_sessions fail, and SQL that undoes it.</summary>
    protected abstract (string Break, string Mend) SessionFault { get; }

    private static async Task<string> CodeAsync(SandboxedHub hub, string user) =>
        (await hub.Sandbox.CallAsync($"_sandbox/users/{user}/login", new { appid = Demo.MiniProgram })).GetProperty("code").GetString()!;

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var db = StoreDatabase.Open(database, SandboxMode.Tenant);
        await using var connection = await db.OpenConnectionAsync(CancellationToken.None);
        await StoreDatabase.ExecuteAsync(connection, null, sql, CancellationToken.None);
    }

    [Fact]
    public async Task A_login_whose_session_cannot_be_written_leaves_no_person_and_the_next_login_works()
    {
        var database = await NewDatabaseAsync();
        await using var hub = await SandboxedHub.StartAsync(database, 0, 0, null, LogLevel.Critical, CancellationToken.None);
        using var client = new HttpClient { BaseAddress = hub.HubAddress };
        var graph = hub.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!.Graph;
        var name = "tx" + Guid.NewGuid().ToString("N")[..8];
        await hub.Sandbox.CallAsync("_sandbox/users", new { name });
        var truth = await hub.Sandbox.CallAsync($"_sandbox/users/{name}");
        var openId = Identifier.Parse($"openid:{Demo.MiniProgram}:{truth.GetProperty("openids").GetProperty(Demo.MiniProgram).GetString()}");

        await ExecuteAsync(database, SessionFault.Break);
        var code = await CodeAsync(hub, name);
        using (var failed = await client.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code }))
        {
            ((int)failed.StatusCode).Should().BeGreaterThanOrEqualTo(500, await failed.Content.ReadAsStringAsync());
        }
        (await graph.FindAsync(openId, CancellationToken.None)).Should().BeNull("the observation was rolled back with its session");
        (await graph.GetStatsAsync(CancellationToken.None)).Persons.Should().Be(0);

        await ExecuteAsync(database, SessionFault.Mend);
        // WeChat's codes are single-use: the failed login spent it (jscode2session answered), as it always did.
        using (var reused = await client.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code }))
        {
            reused.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        }
        using var ok = await client.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code = await CodeAsync(hub, name) });
        ok.StatusCode.Should().Be(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
        var login = await ok.Content.ReadFromJsonAsync<JsonElement>();
        var person = await graph.FindAsync(openId, CancellationToken.None);
        person!.Id.ToString().Should().Be(login.GetProperty("person_id").GetString());
        using var me = new HttpRequestMessage(HttpMethod.Get, "v1/sessions/current");
        me.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", login.GetProperty("token").GetString());
        using var current = await client.SendAsync(me);
        current.StatusCode.Should().Be(HttpStatusCode.OK, await current.Content.ReadAsStringAsync());
        (await current.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("person_id").GetString().Should().Be(person.Id.ToString());
    }
}

public sealed class SqliteLoginTransactionTests : LoginTransactionTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File($"login-{Guid.NewGuid():N}.db"));

    protected override (string Break, string Mend) SessionFault =>
        ("CREATE TRIGGER test_sessions_down BEFORE INSERT ON hub_sessions BEGIN SELECT RAISE(ABORT, 'sessions are down'); END",
         "DROP TRIGGER test_sessions_down");

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresLoginTransactionTests(PostgresFixture postgres) : LoginTransactionTests
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();

    protected override (string Break, string Mend) SessionFault =>
        ("""
         CREATE FUNCTION test_sessions_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'sessions are down'; END $$;
         CREATE TRIGGER test_sessions_down BEFORE INSERT ON hub_sessions FOR EACH ROW EXECUTE FUNCTION test_sessions_down()
         """,
         "DROP TRIGGER test_sessions_down ON hub_sessions");
}
