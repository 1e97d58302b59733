using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Testing;
using Xunit;
using Xunit.Abstractions;

namespace OneId.Server.Tests;

/// <summary>Writes the story into the test output, so that a failing expectation comes with its context.</summary>
public sealed class TestTeller(ITestOutputHelper output) : IStoryTeller
{
    public void Chapter(string title) => output.WriteLine($"== {title}");
    public void Did(string text) => output.WriteLine($"  user:   {text}");
    public void WeChat(string text) => output.WriteLine($"  wechat: {text}");
    public void Graph(string text) => output.WriteLine($"  graph:  {text}");
    public void Check(bool ok, string expectation) => output.WriteLine($"  {(ok ? "ok " : "FAIL")}   {expectation}");
}

/// <summary>S1–S11 and S13 end to end: the hub and the in-process sandbox over loopback HTTP, on each store.</summary>
public abstract class StoryTests(ITestOutputHelper output)
{
    protected abstract Task<string> NewDatabaseAsync();

    [Fact]
    public async Task The_seed_stories_hold_end_to_end()
    {
        await using var inbox = await WebhookInbox.StartAsync(CancellationToken.None);
        await using var running = await SandboxedHub.StartAsync(await NewDatabaseAsync(), 0, 0, o =>
        {
            o.BootstrapKey = TestHub.AdminKey;
            inbox.Subscribe(o);
        }, LogLevel.Warning, CancellationToken.None);
        var story = new DemoStory(running.HubAddress, running.Sandbox.BaseAddress, TestHub.AdminKey, new TestTeller(output), inbox);
        var ok = await story.RunAsync(CancellationToken.None);
        story.Failures.Should().BeEmpty();
        ok.Should().BeTrue();
    }
}

public sealed class SqliteStoryTests(ITestOutputHelper output) : StoryTests(output), IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File("hub.db"));

    public void Dispose() => _folder.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresStoryTests(PostgresFixture postgres, ITestOutputHelper output) : StoryTests(output)
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}

[CollectionDefinition(Name)]
public sealed class CitusCollection : ICollectionFixture<CitusFixture>
{
    public const string Name = "citus";
}

/// <summary>
/// The hub unchanged on Citus (schema-based sharding, a coordinator and two workers): the seed stories in tenant
/// acme, merges in a second tenant, and each tenant's schema living whole on its own worker.
/// </summary>
[Collection(CitusCollection.Name)]
public sealed class CitusStoryTests(CitusFixture citus, ITestOutputHelper output)
{
    [CitusFact]
    public async Task The_seed_stories_hold_on_citus_with_each_tenant_on_its_own_worker()
    {
        await using var inbox = await WebhookInbox.StartAsync(CancellationToken.None);
        await using var running = await SandboxedHub.StartAsync(citus.Cluster.ConnectionString, 0, 0, o =>
        {
            o.BootstrapKey = TestHub.AdminKey;
            inbox.Subscribe(o);
            o.Tenants.Add(new OneId.Server.Configuration.TenantOptions { Name = "beta" });
        }, LogLevel.Warning, CancellationToken.None);
        var story = new DemoStory(running.HubAddress, running.Sandbox.BaseAddress, TestHub.AdminKey, new TestTeller(output), inbox);
        var ok = await story.RunAsync(CancellationToken.None);
        story.Failures.Should().BeEmpty();
        ok.Should().BeTrue();

        // Tenant beta: a silent-first person and a unionid person, merged by later evidence (S11) in a later transaction.
        var beta = running.Hub.Services.GetRequiredService<OneId.Server.Tenants.TenantRegistry>().Get("beta")!.Graph;
        var at = DateTimeOffset.UtcNow;
        var openid = Graph.Identifier.Parse("openid:wx00000000000000b2:oBetaSilentFirstxxxxxxxxxxxx");
        var unionid = Graph.Identifier.Parse("unionid:beta:oBetaUnionxxxxxxxxxxxxxxxxxxx");
        var mp = Graph.Identifier.Parse("openid:wx00000000000000a1:oBetaMiniProgramxxxxxxxxxxxx");
        var silent = await beta.ObserveAsync(new Graph.Observation([openid], "test", at), CancellationToken.None);
        await beta.ObserveAsync(new Graph.Observation([mp, unionid], "test", at), CancellationToken.None);
        var joined = await beta.ObserveAsync(new Graph.Observation([openid, unionid], "test", at), CancellationToken.None);
        joined.Person.Should().Be(silent.Person);
        (await beta.FindAsync(mp, CancellationToken.None))!.Id.Should().Be(silent.Person!.Value);

        var placements = await citus.Cluster.SchemaPlacementsAsync();
        var workers = citus.Cluster.Workers.Select(w => w.Port).ToArray();
        placements.Should().ContainKeys("oneid_acme", "oneid_beta");
        workers.Should().Contain(placements["oneid_acme"]).And.Contain(placements["oneid_beta"]);
        placements["oneid_acme"].Should().NotBe(placements["oneid_beta"], "Citus spreads the tenants' schemas over the workers");
    }
}
