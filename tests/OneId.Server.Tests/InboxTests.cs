using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.Testing;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>
/// The durable inbox under injected faults: WeChat's pushes are answered at once and processed by the inbox worker,
/// however slow or failing user/info is, and across a hub restart. Written once, run on each store.
/// </summary>
public abstract class InboxTests
{
    protected abstract Task<string> NewDatabaseAsync();

    /// <summary>The inbox's payload column exactly as stored, read past the hub.</summary>
    protected abstract Task<IReadOnlyList<string>> StoredPayloadsAsync(string database);

    private string _database = "";

    private async Task<SandboxedHub> StartAsync(Action<HubOptions>? configure = null) =>
        await SandboxedHub.StartAsync(_database = await NewDatabaseAsync(), 0, 0, o =>
        {
            o.BootstrapKey = TestHub.AdminKey;
            o.Inbox.PollMilliseconds = 50;
            configure?.Invoke(o);
        }, LogLevel.Critical, CancellationToken.None);

    private static HttpClient Admin(SandboxedHub hub)
    {
        var c = new HttpClient { BaseAddress = hub.HubAddress };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestHub.AdminKey);
        return c;
    }

    private static IGraphStore Graph(SandboxedHub hub) => hub.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!.Graph;

    /// <summary>A new sandbox user who follows the OA: the sandbox pushes the subscribe event to the hub.</summary>
    private static async Task<(Identifier OpenId, Identifier UnionId)> FollowAsync(SandboxedHub hub, string prefix)
    {
        var name = prefix + Guid.NewGuid().ToString("N")[..8];
        await hub.Sandbox.CallAsync("_sandbox/users", new { name });
        var truth = await hub.Sandbox.CallAsync($"_sandbox/users/{name}");
        await hub.Sandbox.CallAsync($"_sandbox/users/{name}/follow", new { appid = Demo.OfficialAccount });
        return (Identifier.Parse($"openid:{Demo.OfficialAccount}:{truth.GetProperty("openids").GetProperty(Demo.OfficialAccount).GetString()}"),
            Identifier.Parse($"unionid:{Demo.UnionSpace}:{truth.GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()}"));
    }

    private static Task LinkedAsync(SandboxedHub hub, (Identifier OpenId, Identifier UnionId) user) =>
        Eventually.TrueAsync(async () => (await Graph(hub).FindAsync(user.OpenId, default))?.Identifiers.Contains(user.UnionId) == true,
            $"{user.OpenId} is linked to its unionid");

    [Fact]
    public async Task Follows_are_kept_when_user_info_is_slower_than_WeChats_push_timeout()
    {
        await using var hub = await StartAsync();
        // user/info answers after 6 s, longer than the 5 s WeChat waits for the push's answer.
        await hub.Sandbox.CallAsync("_sandbox/faults", new { path = "/cgi-bin/user/info", delay_ms = 6000, times = 5 });
        var users = new List<(Identifier, Identifier)>();
        for (var i = 0; i < 5; i++)
        {
            users.Add(await FollowAsync(hub, "slow"));
        }
        await Eventually.TrueAsync(async () =>
        {
            var pushes = (await hub.Sandbox.CallAsync("_sandbox/pushes")).EnumerateArray().Where(p => p.GetProperty("event").GetString() == "subscribe").ToArray();
            return pushes.Length == 5 && pushes.All(p => p.GetProperty("status").GetString() == "delivered" && p.GetProperty("attempts").GetInt32() == 1);
        }, "each follow push was answered at its first delivery");
        foreach (var user in users)
        {
            await LinkedAsync(hub, user);
        }
    }

    [Fact]
    public async Task A_failing_user_info_is_retried_with_backoff_until_it_answers()
    {
        await using var hub = await StartAsync();
        // 45011 (API rate limit) is transient but not retried by the client itself: the inbox retries.
        await hub.Sandbox.CallAsync("_sandbox/faults", new { path = "/cgi-bin/user/info", errcode = 45011, times = 2 });
        var user = await FollowAsync(hub, "flaky");
        await LinkedAsync(hub, user);
        using var admin = Admin(hub);
        var done = await Eventually.ValueAsync(() => admin.GetFromJsonAsync<JsonElement>("v1/inbox?state=done"),
            v => v.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("kind").GetString() == "OfficialAccount"), "the follow push is done");
        done.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("kind").GetString() == "OfficialAccount")
            .GetProperty("attempts").GetInt32().Should().Be(3, "two failed attempts, then the third succeeded");
    }

    [Fact]
    public async Task A_push_that_keeps_failing_stays_dead_with_its_last_error_and_can_be_requeued()
    {
        await using var hub = await StartAsync(o => o.Inbox.MaxAttempts = 2);
        await hub.Sandbox.CallAsync("_sandbox/faults", new { path = "/cgi-bin/user/info", errcode = 45011, times = 1000 });
        var user = await FollowAsync(hub, "dead");
        using var admin = Admin(hub);
        var dead = await Eventually.ValueAsync(() => admin.GetFromJsonAsync<JsonElement>("v1/inbox?state=dead"),
            v => v.GetProperty("dead").GetInt64() == 1, "the push was given up after 2 attempts");
        var item = dead.GetProperty("items").EnumerateArray().Single();
        item.GetProperty("last_error").GetString().Should().Contain("45011");
        item.GetProperty("attempts").GetInt32().Should().Be(2);
        var stored = (await StoredPayloadsAsync(_database)).Should().ContainSingle().Subject;
        stored.Should().StartWith("v1.", "the kept push is sealed with the data key").And.NotContain(user.OpenId.Value).And.NotContain("<xml");
        (await Graph(hub).FindAsync(user.OpenId, default)).Should().BeNull("nothing was recorded while user/info failed");

        await hub.Sandbox.CallAsync("_sandbox/faults", method: HttpMethod.Delete);
        (await admin.PostAsync($"v1/inbox/{item.GetProperty("id").GetInt64()}/requeue", null)).StatusCode.Should().Be(HttpStatusCode.Accepted);
        await LinkedAsync(hub, user);
        (await admin.PostAsync($"v1/inbox/{item.GetProperty("id").GetInt64()}/requeue", null)).StatusCode.Should().Be(HttpStatusCode.Conflict, "it is done now");
    }

    [Fact]
    public async Task A_hub_restarted_while_processing_a_push_finishes_it_after_the_restart()
    {
        await using var hub = await StartAsync();
        await hub.Sandbox.CallAsync("_sandbox/faults", new { path = "/cgi-bin/user/info", delay_ms = 3000, times = 1 });
        var user = await FollowAsync(hub, "restart");
        await Eventually.TrueAsync(async () => (await hub.Sandbox.CallAsync("_sandbox/calls")).GetProperty("counts").TryGetProperty("/cgi-bin/user/info", out _),
            "the worker called user/info");
        await hub.RestartHubAsync(CancellationToken.None);
        await LinkedAsync(hub, user);
    }
}

public sealed class SqliteInboxTests : InboxTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File($"inbox-{Guid.NewGuid():N}.db"));

    protected override async Task<IReadOnlyList<string>> StoredPayloadsAsync(string database)
    {
        await using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={new OneId.Storage.SqliteDatabase(database, SandboxMode.Tenant).Path}");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT payload FROM hub_inbox WHERE payload IS NOT NULL";
        var all = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            all.Add(r.GetString(0));
        }
        return all;
    }

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresInboxTests(PostgresFixture postgres) : InboxTests
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();

    protected override async Task<IReadOnlyList<string>> StoredPayloadsAsync(string database)
    {
        await using var c = new Npgsql.NpgsqlConnection(database);
        await c.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand($"SELECT payload FROM oneid_{SandboxMode.Tenant}.hub_inbox WHERE payload IS NOT NULL", c);
        var all = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            all.Add(r.GetString(0));
        }
        return all;
    }
}
