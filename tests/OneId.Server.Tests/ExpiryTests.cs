using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Testing;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>Time-bound state, with the sandbox clock (which the hub shares in sandbox mode) moved forward.</summary>
public sealed class ExpiryTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Login_tokens_and_oauth_states_expire()
    {
        await using var running = await SandboxedHub.StartAsync(_folder.File("expiry.db"), 0, 0, o => o.SessionMinutes = 30, LogLevel.Critical, CancellationToken.None);
        using var sandbox = new HttpClient { BaseAddress = running.Sandbox.BaseAddress };
        using var hub = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = running.HubAddress };
        (await sandbox.PostAsJsonAsync("_sandbox/users", new { name = "clocky" })).EnsureSuccessStatusCode();
        var code = (await (await sandbox.PostAsJsonAsync("_sandbox/users/clocky/login", new { appid = Demo.MiniProgram })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
        var login = await (await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code })).Content.ReadFromJsonAsync<JsonElement>();
        var token = login.GetProperty("token").GetString();

        var authorize = await hub.GetAsync($"v1/oa/{Demo.OfficialAccount}/authorize?scope=snsapi_base");
        var page = authorize.Headers.Location!.AbsoluteUri;
        var consent = await hub.GetAsync(new Uri(page[..page.IndexOf('#', StringComparison.Ordinal)] + "&sandbox_user=clocky"));
        var callback = consent.Headers.Location!;

        using (var session = new HttpRequestMessage(HttpMethod.Get, "v1/sessions/current"))
        {
            session.Headers.Authorization = new("Bearer", token);
            (await hub.SendAsync(session)).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        running.Sandbox.Clock.Advance(TimeSpan.FromMinutes(31));

        using (var session = new HttpRequestMessage(HttpMethod.Get, "v1/sessions/current"))
        {
            session.Headers.Authorization = new("Bearer", token);
            (await hub.SendAsync(session)).StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the login token lived 30 minutes");
        }
        (await hub.GetAsync(callback)).StatusCode.Should().Be(HttpStatusCode.BadRequest, "the CSRF state lived 10 minutes");
    }
}
