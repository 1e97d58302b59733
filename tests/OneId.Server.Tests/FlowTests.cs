using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

public sealed class FlowTests(SandboxHubFixture f) : IClassFixture<SandboxHubFixture>
{
    private static async Task<JsonElement> Problem(HttpResponseMessage r, HttpStatusCode status)
    {
        r.StatusCode.Should().Be(status, await r.Content.ReadAsStringAsync());
        r.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<JsonElement> LoginAsync(string user, string appid = Demo.MiniProgram)
    {
        using var hub = f.Hub();
        var r = await hub.PostAsJsonAsync($"v1/mp/{appid}/login", new { code = await f.CodeAsync(user, appid) });
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Mp_login_refuses_bad_input_with_problems()
    {
        using var hub = f.Hub();
        await Problem(await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { }), HttpStatusCode.BadRequest);
        await Problem(await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code = "not-a-real-code" }), HttpStatusCode.BadRequest);
        await Problem(await hub.PostAsJsonAsync("v1/mp/wx9999999999999999/login", new { code = "x" }), HttpStatusCode.NotFound);
        await Problem(await hub.PostAsJsonAsync($"v1/mp/{Demo.OfficialAccount}/login", new { code = "x" }), HttpStatusCode.BadRequest);
        await Problem(await hub.PostAsync($"v1/mp/{Demo.MiniProgram}/login", new StringContent("{\"code\":", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);

        var user = await f.NewUserAsync("reuse");
        var code = await f.CodeAsync(user, Demo.MiniProgram);
        (await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code })).StatusCode.Should().Be(HttpStatusCode.OK);
        var reused = await Problem(await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code }), HttpStatusCode.BadRequest);
        reused.GetProperty("detail").GetString().Should().Contain("40163");
    }

    [Fact]
    public async Task Mp_login_gives_a_revocable_token_and_never_the_session_key()
    {
        var user = await f.NewUserAsync("tok");
        var login = await LoginAsync(user);
        login.TryGetProperty("session_key", out _).Should().BeFalse();
        var token = login.GetProperty("token").GetString()!;
        using var session = f.Hub(token);
        var current = await session.GetFromJsonAsync<JsonElement>("v1/sessions/current");
        current.GetProperty("person_id").GetString().Should().Be(login.GetProperty("person_id").GetString());
        (await session.DeleteAsync("v1/sessions/current")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        await Problem(await session.GetAsync("v1/sessions/current"), HttpStatusCode.Unauthorized);
        await Problem(await session.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/phone", new { code = "x" }), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Userinfo_needs_the_login_token_of_that_app_and_all_fields()
    {
        var user = await f.NewUserAsync("ui");
        var token = (await LoginAsync(user)).GetProperty("token").GetString()!;
        var open = await f.SandboxAsync($"_sandbox/users/{user}/userinfo", new { appid = Demo.MiniProgram });
        var body = new
        {
            encryptedData = open.GetProperty("encryptedData").GetString(), iv = open.GetProperty("iv").GetString(),
            rawData = open.GetProperty("rawData").GetString(), signature = open.GetProperty("signature").GetString(),
        };
        using var anonymous = f.Hub();
        await Problem(await anonymous.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/userinfo", body), HttpStatusCode.Unauthorized);
        using var withKey = f.Hub(TestHub.AdminKey);
        await Problem(await withKey.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/userinfo", body), HttpStatusCode.Unauthorized);
        using var session = f.Hub(token);
        await Problem(await session.PostAsJsonAsync($"v1/mp/{Demo.MiniGame}/userinfo", body), HttpStatusCode.Unauthorized);
        await Problem(await session.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/userinfo", new { body.iv }), HttpStatusCode.BadRequest);
        await Problem(await session.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/userinfo", new { body.encryptedData, iv = "AAAAAAAAAAAAAAAAAAAAAA==", body.rawData, body.signature }), HttpStatusCode.BadRequest);
        var ok = await session.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/userinfo", body);
        ok.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ok.Content.ReadAsStringAsync()).Should().NotContain("session_key");
    }

    [Fact]
    public async Task Paid_needs_a_key_of_the_apps_tenant()
    {
        using var anonymous = f.Hub();
        await Problem(await anonymous.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/paid", new { openid = "oAAAAAAAAAAAAAAAAAAAAAAAAAAA", transaction_id = "1" }), HttpStatusCode.Unauthorized);
        using var beta = f.Hub(f.BetaAdminKey);
        await Problem(await beta.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/paid", new { openid = "oAAAAAAAAAAAAAAAAAAAAAAAAAAA", transaction_id = "1" }), HttpStatusCode.Forbidden);
        using var admin = f.Hub(TestHub.AdminKey);
        await Problem(await admin.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/paid", new { openid = "null" }), HttpStatusCode.BadRequest);
        var unknownTrade = await admin.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/paid", new { openid = "oAAAAAAAAAAAAAAAAAAAAAAAAAAA", transaction_id = "42" });
        ((int)unknownTrade.StatusCode).Should().BeOneOf(400, 502);
    }

    [Fact]
    public async Task Oa_authorize_redirects_with_a_state_and_refuses_bad_requests()
    {
        using var hub = f.Hub();
        var r = await hub.GetAsync($"v1/oa/{Demo.OfficialAccount}/authorize?scope=snsapi_userinfo&return_to=/account");
        r.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var location = r.Headers.Location!.AbsoluteUri;
        location.Should().StartWith(f.Running.Sandbox.OpenBaseAddress.AbsoluteUri).And.Contain("state=").And.EndWith("#wechat_redirect");
        location.Should().Contain(Uri.EscapeDataString($"{f.Running.HubAddress}v1/oa/{Demo.OfficialAccount}/oauth-callback"));

        await Problem(await hub.GetAsync($"v1/oa/{Demo.OfficialAccount}/authorize?scope=snsapi_login"), HttpStatusCode.BadRequest);
        await Problem(await hub.GetAsync($"v1/oa/{Demo.OfficialAccount}/authorize?return_to=https://evil.example/"), HttpStatusCode.BadRequest);
        await Problem(await hub.GetAsync($"v1/oa/{Demo.OfficialAccount}/authorize?return_to=//evil.example/"), HttpStatusCode.BadRequest);
        await Problem(await hub.GetAsync($"v1/oa/{Demo.MiniProgram}/authorize"), HttpStatusCode.BadRequest);
        await Problem(await hub.GetAsync($"v1/oa/{Demo.OfficialAccount}/oauth-callback?code=abc&state=forged"), HttpStatusCode.BadRequest);
        await Problem(await hub.GetAsync($"v1/oa/{Demo.OfficialAccount}/oauth-callback?code=abc"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Oa_authorize_with_return_to_sends_the_browser_back_with_a_login_token()
    {
        var user = await f.NewUserAsync("web");
        using var hub = f.Hub();
        var start = await hub.GetAsync($"v1/oa/{Demo.OfficialAccount}/authorize?scope=snsapi_userinfo&return_to=/welcome");
        var page = start.Headers.Location!.AbsoluteUri;
        var page2 = await hub.GetAsync(new Uri(page[..page.IndexOf('#', StringComparison.Ordinal)] + $"&sandbox_user={user}"));
        var back = await hub.GetAsync(page2.Headers.Location);
        back.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(f.Running.HubAddress, back.Headers.Location!).Query);
        using var session = f.Hub(query["oneid_token"].ToString());
        var current = await session.GetFromJsonAsync<JsonElement>("v1/sessions/current");
        current.GetProperty("appid").GetString().Should().Be(Demo.OfficialAccount);
    }

    [Fact]
    public async Task Web_login_serves_websites_and_apps_only()
    {
        using var hub = f.Hub();
        await Problem(await hub.PostAsJsonAsync($"v1/web/{Demo.MiniProgram}/login", new { code = "x" }), HttpStatusCode.BadRequest);
        await Problem(await hub.PostAsJsonAsync($"v1/web/{Demo.Website}/login", new { code = "" }), HttpStatusCode.BadRequest);
        await Problem(await hub.PostAsJsonAsync($"v1/web/{Demo.Website}/login", new { code = "bogus" }), HttpStatusCode.BadRequest);
        var user = await f.NewUserAsync("qr");
        var ok = await hub.PostAsJsonAsync($"v1/web/{Demo.Website}/login", new { code = await f.CodeAsync(user, Demo.Website) });
        ok.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ok.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("unionid").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task WeChat_outages_become_503_not_500()
    {
        var user = await f.NewUserAsync("fault");
        await f.SandboxAsync("_sandbox/faults", new { path = "/sns/jscode2session", errcode = -1, times = 10 });
        try
        {
            using var hub = f.Hub();
            await Problem(await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code = await f.CodeAsync(user, Demo.MiniProgram) }), HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            using var c = new HttpClient { BaseAddress = f.Running.Sandbox.BaseAddress };
            await c.DeleteAsync("_sandbox/faults");
        }
    }
}
