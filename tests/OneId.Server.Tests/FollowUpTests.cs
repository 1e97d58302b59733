using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Graph;
using OneId.Server.Tenants;
using OneId.Testing;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>
/// Provider conversions (S10) are follow-ups of the event log: a login answers without them, a slow or failing
/// idconvert is retried by the worker, and the customer seen first on WeCom and later in the MP ends as one person.
/// </summary>
public abstract class FollowUpTests
{
    private const string IdConvert = "/qyapi/cgi-bin/idconvert/unionid_to_external_userid";

    protected abstract Task<string> NewDatabaseAsync();

    private async Task<SandboxedHub> StartAsync() =>
        await SandboxedHub.StartAsync(await NewDatabaseAsync(), 0, 0, o => o.BootstrapKey = TestHub.AdminKey, LogLevel.Critical, CancellationToken.None);

    private static IGraphStore Graph(SandboxedHub hub) => hub.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!.Graph;

    private static string ProviderNamespace => $"{Demo.Corp}/isv1";

    private static async Task<(string Name, Identifier UnionId)> NewUserAsync(SandboxedHub hub)
    {
        var name = "fu" + Guid.NewGuid().ToString("N")[..8];
        await hub.Sandbox.CallAsync("_sandbox/users", new { name });
        var truth = await hub.Sandbox.CallAsync($"_sandbox/users/{name}");
        return (name, Identifier.Parse($"unionid:{Demo.UnionSpace}:{truth.GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()}"));
    }

    private static async Task<JsonElement> LoginAsync(SandboxedHub hub, string user)
    {
        var code = (await hub.Sandbox.CallAsync($"_sandbox/users/{user}/login", new { appid = Demo.MiniProgram })).GetProperty("code").GetString();
        using var c = new HttpClient { BaseAddress = hub.HubAddress };
        var r = await c.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code });
        r.StatusCode.Should().Be(HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static Task<Person?> ConvertedAsync(SandboxedHub hub, Identifier unionId, IdentifierType type) =>
        Eventually.ValueAsync(() => Graph(hub).FindAsync(unionId, default),
            p => p?.Identifiers.Any(i => i.Type == type && i.Namespace == ProviderNamespace) == true, $"{unionId} got its provider {type}");

    [Fact]
    public async Task A_login_answers_before_a_slow_provider_conversion_which_follows()
    {
        await using var hub = await StartAsync();
        var user = await NewUserAsync(hub);
        await hub.Sandbox.CallAsync("_sandbox/faults", new { path = IdConvert, delay_ms = 3000, times = 1 });
        await LoginAsync(hub, user.Name);
        var atLogin = await Graph(hub).FindAsync(user.UnionId, default);
        atLogin!.Identifiers.Should().NotContain(i => i.Namespace == ProviderNamespace, "the login did not wait for idconvert, which is still answering");
        await ConvertedAsync(hub, user.UnionId, IdentifierType.PendingId);
    }

    [Fact]
    public async Task A_failing_provider_conversion_is_retried_by_the_follow_up_worker()
    {
        await using var hub = await StartAsync();
        var user = await NewUserAsync(hub);
        // 45011: transient, and not retried by the client itself.
        await hub.Sandbox.CallAsync("_sandbox/faults", new { path = IdConvert, errcode = 45011, times = 2 });
        await LoginAsync(hub, user.Name);
        await ConvertedAsync(hub, user.UnionId, IdentifierType.PendingId);
    }

    [Fact]
    public async Task A_customer_seen_on_WeCom_first_and_in_the_MP_later_is_one_person()
    {
        await using var hub = await StartAsync();
        var user = await NewUserAsync(hub);
        await hub.Sandbox.CallAsync($"_sandbox/users/{user.Name}/wecom-add", new { corpid = Demo.Corp, userid = "lisi" });
        // Both apps' pushes arrive: the self-built app links the unionid; the provider app sees only its ciphertext id.
        await Eventually.TrueAsync(async () => (await Graph(hub).FindAsync(user.UnionId, default)) is not null, "the self-built push linked the unionid");
        await LoginAsync(hub, user.Name);
        var person = await ConvertedAsync(hub, user.UnionId, IdentifierType.ExternalUserId);
        person!.Identifiers.Should().Contain(i => i.Type == IdentifierType.OpenId && i.Namespace == Demo.MiniProgram);
        person.Identifiers.Should().Contain(i => i.Type == IdentifierType.ExternalUserId && i.Namespace == Demo.Corp);
        person.Identifiers.Should().NotContain(i => i.Type == IdentifierType.PendingId, "a customer gets the ciphertext id, not a pending_id");
    }

    [Fact]
    public async Task A_customer_seen_by_the_provider_app_and_the_self_built_app_is_one_person()
    {
        await using var hub = await StartAsync();
        var user = await NewUserAsync(hub);
        // One add, two pushes: the self-built app's (plaintext id; externalcontact/get gives the unionid) and the
        // provider app's (its ciphertext id only). No login, so no unionid conversion can join them.
        await hub.Sandbox.CallAsync($"_sandbox/users/{user.Name}/wecom-add", new { corpid = Demo.Corp, userid = "lisi" });

        var person = await Eventually.ValueAsync(() => Graph(hub).FindAsync(user.UnionId, default),
            p => p?.Identifiers.Any(i => i.Type == IdentifierType.ExternalUserId && i.Namespace == ProviderNamespace) == true,
            "from_service_external_userid linked the provider's id to the corp's plaintext id");
        person!.Identifiers.Should().ContainSingle(i => i.Type == IdentifierType.ExternalUserId && i.Namespace == Demo.Corp);
        var providerId = person.Identifiers.Single(i => i.Type == IdentifierType.ExternalUserId && i.Namespace == ProviderNamespace);
        (await Graph(hub).FindAsync(providerId, default))!.Id.Should().Be(person.Id, "the provider's id resolves to the one person");
    }
}

public sealed class SqliteFollowUpTests : FollowUpTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File($"fu-{Guid.NewGuid():N}.db"));

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresFollowUpTests(PostgresFixture postgres) : FollowUpTests
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}
