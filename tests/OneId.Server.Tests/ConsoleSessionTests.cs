using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Xunit;

namespace OneId.Server.Tests;

public sealed class ConsoleSessionTests : IAsyncLifetime
{
    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private HttpClient CookieClient(out CookieContainerHolder holder)
    {
        holder = new CookieContainerHolder();
        return new HttpClient(new HttpClientHandler { CookieContainer = holder.Cookies, UseCookies = true }) { BaseAddress = _hub.BaseAddress };
    }

    public sealed class CookieContainerHolder
    {
        public CookieContainer Cookies { get; } = new();
    }

    [Fact]
    public async Task Signing_in_exchanges_the_key_for_an_httponly_strict_cookie_that_the_api_accepts()
    {
        using var client = CookieClient(out var jar);
        var r = await client.PostAsJsonAsync("/v1/console/session", new { key = TestHub.AdminKey });

        r.StatusCode.Should().Be(HttpStatusCode.OK);
        var setCookie = r.Headers.GetValues("Set-Cookie").Single();
        setCookie.Should().StartWith("oneid_console=").And.Contain("httponly").And.Contain("samesite=strict").And.Contain("path=/");
        setCookie.Should().NotContain(TestHub.AdminKey);
        var session = await r.Content.ReadFromJsonAsync<JsonElement>();
        session.GetProperty("tenant").GetString().Should().Be("acme");
        session.GetProperty("admin").GetBoolean().Should().BeTrue();
        session.GetProperty("tiers").EnumerateArray().Select(t => t.GetString()).Should().Contain("private");

        (await client.GetAsync("/v1/stats")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetFromJsonAsync<JsonElement>("/v1/console/session")).GetProperty("key_id").GetString().Should().HaveLength(12);
    }

    [Fact]
    public async Task Writes_through_the_cookie_need_the_console_header()
    {
        using var client = CookieClient(out _);
        (await client.PostAsJsonAsync("/v1/console/session", new { key = TestHub.AdminKey })).EnsureSuccessStatusCode();
        var body = new { observations = new[] { new { ids = new[] { $"openid:{TestHub.MpAppId}:oCsrfCsrfCsrfCsrf" } } } };

        var forged = await client.PostAsJsonAsync("/v1/observations", body);
        forged.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await forged.Content.ReadAsStringAsync()).Should().Contain("X-OneId-Console");

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/observations") { Content = JsonContent.Create(body) };
        request.Headers.Add("X-OneId-Console", "1");
        (await client.SendAsync(request)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Sign_in_refuses_missing_and_unknown_keys_and_sign_out_ends_the_session()
    {
        using var client = CookieClient(out var jar);
        (await client.PostAsJsonAsync("/v1/console/session", new { })).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await client.PostAsJsonAsync("/v1/console/session", new { key = "oneid.acme.wrong" })).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.GetAsync("/v1/console/session")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);

        (await client.PostAsJsonAsync("/v1/console/session", new { key = TestHub.AdminKey })).EnsureSuccessStatusCode();
        var signOut = await client.DeleteAsync("/v1/console/session");
        signOut.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await client.GetAsync("/v1/console/session")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_forged_or_tampered_cookie_is_refused()
    {
        using var client = new HttpClient { BaseAddress = _hub.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/stats");
        request.Headers.Add("Cookie", "oneid_console=v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        var r = await client.SendAsync(request);
        r.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await r.Content.ReadAsStringAsync()).Should().Contain("sign in again");
    }
}
