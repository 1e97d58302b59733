using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>Hostile input to the browser and app flows: refused before WeChat is asked, nothing half-written.</summary>
public sealed class HardeningFlowTests(SandboxHubFixture f) : IClassFixture<SandboxHubFixture>
{
    private static async Task<JsonElement> Problem(HttpResponseMessage r, HttpStatusCode status)
    {
        r.StatusCode.Should().Be(status, await r.Content.ReadAsStringAsync());
        r.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<long> CallsAsync(string path)
    {
        var counts = (await f.SandboxAsync("_sandbox/calls")).GetProperty("counts");
        return counts.TryGetProperty(path, out var n) ? n.GetInt64() : 0;
    }

    [Theory]
    [InlineData("%2F%09%2Fevil.example%2Fsteal")] // "/\t/evil.example/steal": a browser drops the tab and goes to evil.example
    [InlineData("%2F%5Cevil.example")]
    [InlineData("%2F%0D%0ASet-Cookie%3A%20x%3D1")]
    [InlineData("%2Fa%00b")]
    [InlineData("https%3A%2F%2Fevil.example%2F")]
    public async Task An_unsafe_return_to_is_refused_at_authorize(string returnTo)
    {
        using var hub = f.Hub();
        var problem = await Problem(await hub.GetAsync($"v1/oa/{DemoWorld.OfficialAccount}/authorize?scope=snsapi_userinfo&return_to={returnTo}"), HttpStatusCode.BadRequest);
        problem.GetProperty("title").GetString().Should().Be("Unsafe return_to");
    }

    [Theory]
    [InlineData("/é", "/%C3%A9")]
    [InlineData("/中文?x=1", "/%E4%B8%AD%E6%96%87?x=1&oneid_token=")]
    public async Task A_non_ascii_path_comes_back_percent_encoded_with_the_login_token(string returnTo, string expected)
    {
        var user = await f.NewUserAsync("ret");
        using var hub = f.Hub();
        var start = await hub.GetAsync($"v1/oa/{DemoWorld.OfficialAccount}/authorize?scope=snsapi_base&return_to={Uri.EscapeDataString(returnTo)}");
        start.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var page = start.Headers.Location!.AbsoluteUri;
        var consent = await hub.GetAsync(new Uri(page[..page.IndexOf('#', StringComparison.Ordinal)] + $"&sandbox_user={user}"));

        var back = await hub.GetAsync(consent.Headers.Location);

        back.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var location = back.Headers.Location!.OriginalString;
        location.Should().StartWith(new Uri(f.Running.HubAddress, expected.Split('&')[0]).AbsoluteUri).And.Contain("oneid_token=");
        location.Should().MatchRegex("^[\\x21-\\x7e]+$", "a Location header is ASCII");
    }

    [Fact]
    public async Task Oversized_and_malformed_values_are_refused_before_any_wechat_call()
    {
        using var hub = f.Hub();
        var before = await CallsAsync("/sns/jscode2session");

        await Problem(await hub.PostAsJsonAsync($"v1/mp/{DemoWorld.MiniProgram}/login", new { code = new string('a', 10_000) }), HttpStatusCode.BadRequest);
        await Problem(await hub.PostAsJsonAsync($"v1/mp/{DemoWorld.MiniProgram}/login", new { code = "has space" }), HttpStatusCode.BadRequest);
        await Problem(await hub.PostAsJsonAsync($"v1/mp/{DemoWorld.MiniProgram}/login", new { code = "中文" }), HttpStatusCode.BadRequest);
        await Problem(await hub.PostAsJsonAsync($"v1/web/{DemoWorld.Website}/login", new { code = new string('b', 300) }), HttpStatusCode.BadRequest);
        await Problem(await hub.GetAsync($"v1/oa/{DemoWorld.OfficialAccount}/oauth-callback?state=abc&code={new string('c', 5000)}"), HttpStatusCode.BadRequest);
        using var admin = f.Hub(TestHub.AdminKey);
        await Problem(await admin.PostAsJsonAsync($"v1/mp/{DemoWorld.MiniProgram}/paid",
            new { openid = "oAAAAAAAAAAAAAAAAAAAAAAAAAAA", transaction_id = new string('1', 1000) }), HttpStatusCode.BadRequest);
        await Problem(await admin.PostAsJsonAsync($"v1/mp/{DemoWorld.MiniProgram}/paid",
            new { openid = new string('o', 5000), transaction_id = "4200000001" }), HttpStatusCode.BadRequest);

        (await CallsAsync("/sns/jscode2session")).Should().Be(before, "nothing malformed was passed on to WeChat");
    }
}
