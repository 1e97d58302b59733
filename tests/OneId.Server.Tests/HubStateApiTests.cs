using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Testing;
using Xunit;

namespace OneId.Server.Tests;

public sealed class HubStateApiTests : IAsyncLifetime
{
    private TestHub _hub = null!;

    // Port 9 on loopback refuses connections: every delivery fails and is retried with backoff.
    public async Task InitializeAsync() => _hub = await TestHub.StartAsync(configure: o =>
        o.Tenants[0].Webhooks.Add(new WebhookOptions { Url = "http://127.0.0.1:9/hook", Secret = "hook-secret-0123456789" }));

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    [Fact]
    public async Task Webhooks_show_their_cursor_lag_and_failures_and_never_the_secret()
    {
        await _hub.Graph().ObserveAsync(new Observation([Identifier.Parse($"openid:{TestHub.MpAppId}:oHookHookHook000001")], "test", DateTimeOffset.UtcNow), CancellationToken.None);
        using var admin = _hub.Admin();

        JsonElement hook = default;
        await Eventually.TrueAsync(async () =>
        {
            hook = (await admin.GetFromJsonAsync<JsonElement>("/v1/webhooks"))[0];
            return hook.GetProperty("attempts").GetInt32() > 0;
        }, "the failing delivery is counted");

        hook.GetProperty("index").GetInt32().Should().Be(0);
        hook.GetProperty("url").GetString().Should().Be("http://127.0.0.1:9/hook");
        hook.GetProperty("sequence").GetInt64().Should().Be(0);
        hook.GetProperty("lag").GetInt64().Should().BeGreaterThan(0);
        hook.GetProperty("last_error").GetString().Should().NotBeNullOrEmpty();
        (await admin.GetStringAsync("/v1/webhooks")).Should().NotContain("hook-secret");
    }

    [Fact]
    public async Task Redelivery_moves_the_cursor_back_and_explains_bad_requests()
    {
        using var admin = _hub.Admin();
        var r = await admin.PostAsJsonAsync("/v1/webhooks/0/redeliver", new { after = 0 });
        r.StatusCode.Should().Be(HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sequence").GetInt64().Should().Be(0);

        (await admin.PostAsJsonAsync("/v1/webhooks/7/redeliver", new { after = 0 })).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.PostAsJsonAsync("/v1/webhooks/x/redeliver", new { after = 0 })).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await admin.PostAsJsonAsync("/v1/webhooks/0/redeliver", new { })).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await admin.PostAsJsonAsync("/v1/webhooks/0/redeliver", new { after = 1_000_000 })).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        using var reader = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        (await reader.GetAsync("/v1/webhooks")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var audit = await admin.GetFromJsonAsync<JsonElement>("/v1/audit");
        audit.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).Should().Contain("webhook.redeliver");
    }

    [Fact]
    public async Task Apps_list_each_app_with_its_token_state_and_no_token()
    {
        using var reader = _hub.ClientWithKey(await _hub.CreateKeyAsync(["internal"]));
        var apps = await reader.GetFromJsonAsync<JsonElement>("/v1/apps");
        apps.EnumerateArray().Select(a => a.GetProperty("appid").GetString()).Should().Equal(TestHub.OaAppId, TestHub.MpAppId, TestHub.WebAppId);
        apps[0].GetProperty("type").GetString().Should().Be(AppTypes.OfficialAccount);
        apps[0].GetProperty("token").GetProperty("state").GetString().Should().Be("none", "nothing has asked WeChat for a token yet");
        (await reader.GetStringAsync("/v1/apps")).Should().NotContain("secret");
    }
}
