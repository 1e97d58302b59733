using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Server.Tenants;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Webhooks;
using OneId.Testing;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>A company's webhook endpoint: checks every signature, records deliveries, and fails on demand.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public const string Secret = "webhook-secret-0123456789abcdef";
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<JsonElement> Received { get; } = new();
    public int BadSignatures;
    /// <summary>POSTs acknowledged, and POSTs answered 503 while <see cref="Failing"/>.</summary>
    public int Posts, Refused;
    public ConcurrentQueue<string> EventHeaders { get; } = new();
    public volatile bool Failing;
    public string Url => _app.Urls.First() + "/hooks";

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hooks", async (HttpContext http) =>
        {
            using var ms = new MemoryStream();
            await http.Request.Body.CopyToAsync(ms);
            var body = ms.ToArray();
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), body));
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(http.Request.Headers[WebhookDispatcher.SignatureHeader].ToString())))
            {
                Interlocked.Increment(ref receiver.BadSignatures);
                return Results.StatusCode(401);
            }
            if (receiver.Failing)
            {
                Interlocked.Increment(ref receiver.Refused);
                return Results.StatusCode(503);
            }
            Interlocked.Increment(ref receiver.Posts);
            receiver.EventHeaders.Enqueue(http.Request.Headers["X-OneId-Event"].ToString());
            var root = JsonDocument.Parse(body).RootElement.Clone();
            // A webhook with batch_size above 1 posts {"events":[…]}: each event counts as received.
            foreach (var e in root.TryGetProperty("events", out var batch) ? batch.EnumerateArray() : Enumerable.Repeat(root, 1))
            {
                receiver.Received.Enqueue(e);
            }
            return Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until what was received satisfies <paramref name="condition"/>; the timeout only bounds a failure.</summary>
    public Task WaitForAsync(Func<IReadOnlyList<JsonElement>, bool> condition, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(() => condition(Received.ToArray()),
            $"webhook condition; received {Received.Count}: {string.Join(", ", Received.Select(r => r.GetProperty("type").GetString()))}", timeout);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed class WebhookTests
{
    private static Observation Obs(params string[] ids) => new(ids.Select(Identifier.Parse), "test", DateTimeOffset.UtcNow);

    private static Action<HubOptions> WithWebhook(string url) => o =>
    {
        o.Tenants.Clear();
        var t = TestHub.DefaultTenant("acme");
        t.Webhooks.Add(new WebhookOptions { Url = url, Secret = WebhookReceiver.Secret });
        o.Tenants.Add(t);
    };

    [Fact]
    public async Task Events_arrive_signed_in_order_with_the_graph_changes()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var hub = await TestHub.StartAsync(configure: WithWebhook(receiver.Url));
        var graph = hub.Graph();
        var a = await graph.ObserveAsync(Obs("openid:wx1111111111111111:oAAAAAAAAAAAAAAAAAAAAAAAAAAA"), default);
        await graph.ObserveAsync(Obs("openid:wx2222222222222222:oBBBBBBBBBBBBBBBBBBBBBBBBBBB"), default);
        await graph.ObserveAsync(Obs("openid:wx1111111111111111:oAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unionid:acme:oUUUUUUUUUUUUUUUUUUUUUUUUUUU"), default);
        await graph.ObserveAsync(Obs("openid:wx2222222222222222:oBBBBBBBBBBBBBBBBBBBBBBBBBBB", "unionid:acme:oUUUUUUUUUUUUUUUUUUUUUUUUUUU"), default);
        await graph.EraseProfileAsync(a.Person!.Value, default);

        await receiver.WaitForAsync(r => r.Count >= 5, TimeSpan.FromSeconds(15));
        var received = receiver.Received.ToArray();
        received.Select(r => r.GetProperty("type").GetString()).Should().Equal("person.created", "person.created", "person.linked", "person.merged", "person.erased");
        received.Select(r => r.GetProperty("sequence").GetInt64()).Should().BeInAscendingOrder();
        received[3].GetProperty("person").GetString().Should().Be(a.Person.ToString());
        received[3].GetProperty("others").EnumerateArray().Should().HaveCount(1);
        received[2].GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()).Should().Contain("unionid:acme:oUUUUUUUUUUUUUUUUUUUUUUUUUUU");
        receiver.BadSignatures.Should().Be(0);
    }

    [Fact]
    public async Task Failed_deliveries_are_retried_in_order_after_a_restart()
    {
        using var folder = new TempFolder();
        var db = folder.File("hub.db");
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Failing = true;
        await using (var hub = await TestHub.StartAsync(db, WithWebhook(receiver.Url)))
        {
            await hub.Graph().ObserveAsync(Obs("openid:wx1111111111111111:oAAAAAAAAAAAAAAAAAAAAAAAAAAA"), default);
            await hub.Graph().ObserveAsync(Obs("openid:wx1111111111111111:oAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unionid:acme:oUUUUUUUUUUUUUUUUUUUUUUUUUUU"), default);
            // The hub tried (and the receiver refused) before it stops: what follows is a retry, not a first attempt.
            await Eventually.TrueAsync(() => Volatile.Read(ref receiver.Refused) >= 1, "the hub attempted a delivery that was refused");
            receiver.Received.Should().BeEmpty();
        }

        receiver.Failing = false;
        await using (var hub = await TestHub.StartAsync(db, WithWebhook(receiver.Url)))
        {
            await hub.Graph().ObserveAsync(Obs("openid:wx2222222222222222:oBBBBBBBBBBBBBBBBBBBBBBBBBBB"), default);
            await receiver.WaitForAsync(r => r.Count >= 3, TimeSpan.FromSeconds(20));
        }
        var types = receiver.Received.Select(r => r.GetProperty("type").GetString()).ToArray();
        types.Should().Equal("person.created", "person.linked", "person.created");
        receiver.Received.Select(r => r.GetProperty("sequence").GetInt64()).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task Two_hub_instances_on_one_database_deliver_each_event_once_in_order()
    {
        using var folder = new TempFolder();
        var db = folder.File("shared.db");
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var a = await TestHub.StartAsync(db, WithWebhook(receiver.Url));
        await using var b = await TestHub.StartAsync(db, WithWebhook(receiver.Url));
        for (var i = 0; i < 10; i++)
        {
            await (i % 2 == 0 ? a : b).Graph().ObserveAsync(Obs($"openid:wx1111111111111111:oMulti{i:D22}"), default);
        }
        await receiver.WaitForAsync(r => r.Count >= 10, TimeSpan.FromSeconds(15));
        // Both instances are done once the stored cursor is past the last event: a duplicate would come from an
        // instance delivering without the lease, before that cursor moved.
        var last = (await a.Graph().ReadEventsAsync(0, 1000, default)).Max(e => e.Sequence);
        var cursors = a.App.Services.GetRequiredService<TenantRegistry>().Get("acme")!.WebhookCursors;
        var cursorName = WebhookDispatcher.CursorName(0, a.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HubOptions>>().Value.Tenants[0].Webhooks[0]);
        await Eventually.TrueAsync(async () => (await cursors.GetWebhookCursorAsync(cursorName, default)).Sequence >= last, "the webhook cursor passed the last event");
        var sequences = receiver.Received.Select(r => r.GetProperty("sequence").GetInt64()).ToArray();
        sequences.Should().HaveCount(10).And.OnlyHaveUniqueItems().And.BeInAscendingOrder();
    }

    [Fact]
    public void Backoff_grows_and_is_capped()
    {
        WebhookDispatcher.Backoff(1).Should().Be(TimeSpan.FromSeconds(1));
        WebhookDispatcher.Backoff(4).Should().Be(TimeSpan.FromSeconds(8));
        WebhookDispatcher.Backoff(40).Should().Be(TimeSpan.FromMinutes(10));
    }
}

public sealed class ConfigurationTests
{
    [Fact]
    public async Task Invalid_configuration_stops_startup_naming_the_field_and_fix()
    {
        var act = () => TestHub.StartAsync(configure: o =>
        {
            o.Tenants[0].Apps[0].AppId = "wx123";
            o.Tenants[0].Apps[1].Secret = "env:ONEID_TEST_SURELY_UNSET_VARIABLE";
            o.Tenants[0].Webhooks.Add(new WebhookOptions { Url = "not a url", Secret = "short" });
        });
        var e = await act.Should().ThrowAsync<Microsoft.Extensions.Options.OptionsValidationException>();
        var message = e.Which.Message;
        message.Should().Contain("tenants[0].apps[0].appid").And.Contain("wx + 16 lowercase hex");
        message.Should().Contain("tenants[0].apps[1].secret").And.Contain("ONEID_TEST_SURELY_UNSET_VARIABLE");
        message.Should().Contain("tenants[0].webhooks[0].url").And.Contain("tenants[0].webhooks[0].secret");
    }

    [Fact]
    public async Task Secrets_can_come_from_the_environment_and_files_from_json()
    {
        using var folder = new TempFolder();
        Environment.SetEnvironmentVariable("ONEID_TEST_OA_SECRET", "from-env-secret");
        // ONEID_* variables override the file (harmless for hubs of other tests running meanwhile).
        Environment.SetEnvironmentVariable("ONEID_SESSION_MINUTES", "77");
        var file = folder.File("oneid.json");
        await File.WriteAllTextAsync(file, """
            {"database": "DBPATH", "bootstrap_key": "json-admin-key-1234567890",
             "tenants": [{"name": "acme", "union_spaces": ["acme"],
                          "apps": [{"appid": "wx1111111111111111", "type": "official_account", "secret": "env:ONEID_TEST_OA_SECRET", "union_space": "acme"}]}]}
            """.Replace("DBPATH", folder.File("x.db"), StringComparison.Ordinal));
        var app = HubApplication.Build(new HubLaunch { ConfigFile = file, Urls = ["http://127.0.0.1:0"], MinimumLogLevel = LogLevel.Warning });
        await app.StartAsync();
        try
        {
            var options = (Microsoft.Extensions.Options.IOptions<HubOptions>)app.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<HubOptions>))!;
            options.Value.Tenants[0].Apps[0].Secret.Should().Be("from-env-secret");
            options.Value.SessionMinutes.Should().Be(77);
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", "json-admin-key-1234567890");
            (await client.GetAsync("/v1/stats")).StatusCode.Should().Be(HttpStatusCode.OK);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
