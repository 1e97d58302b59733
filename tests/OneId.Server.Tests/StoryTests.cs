using FluentAssertions;
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
