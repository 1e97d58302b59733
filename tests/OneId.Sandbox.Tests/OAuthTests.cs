using System.Net;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class OAuthTests
{
    private const string Oa = DemoWorld.OfficialAccount;

    [Fact]
    public async Task Snsapi_base_gives_openid_without_unionid_and_no_userinfo()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var code = await sandbox.CodeAsync("bob", "authorize", new { appid = Oa, scope = "snsapi_base" });
        var token = await sandbox.OAuthAsync(code);
        token.TryGetProperty("errcode", out _).Should().BeFalse();
        token.Str("openid").Should().Be((await sandbox.TruthAsync("bob")).GetProperty("openids").Str(Oa));
        token.Str("scope").Should().Be("snsapi_base");
        token.TryGetProperty("unionid", out _).Should().BeFalse("an OA returns unionid only for snsapi_userinfo");
        token.TryGetProperty("is_snapshotuser", out _).Should().BeFalse();
        (await sandbox.GetAsync($"sns/userinfo?access_token={token.Str("access_token")}&openid={token.Str("openid")}")).ShouldBeError(48001);
        (await sandbox.OAuthAsync(code)).ShouldBeError(40163);
        (await sandbox.OAuthAsync("0nope")).ShouldBeError(40029);
    }

    [Fact]
    public async Task Snsapi_userinfo_gives_unionid_and_profile_and_auth_checks_the_openid()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var truth = await sandbox.TruthAsync("alice");
        var token = await sandbox.OAuthAsync(await sandbox.CodeAsync("alice", "authorize", new { appid = Oa, scope = "snsapi_userinfo" }));
        token.Str("unionid").Should().Be(truth.GetProperty("unionids").Str("acme"));
        var info = await sandbox.GetAsync($"sns/userinfo?access_token={token.Str("access_token")}&openid={token.Str("openid")}");
        info.Str("nickname").Should().Be("Alice");
        info.Str("unionid").Should().Be(truth.GetProperty("unionids").Str("acme"));
        info.GetProperty("sex").ValueKind.Should().Be(System.Text.Json.JsonValueKind.Number);
        var auth = await sandbox.GetAsync($"sns/auth?access_token={token.Str("access_token")}&openid={token.Str("openid")}");
        auth.GetProperty("errcode").GetInt32().Should().Be(0);
        (await sandbox.GetAsync($"sns/auth?access_token={token.Str("access_token")}&openid={truth.GetProperty("openids").Str(DemoWorld.MiniProgram)}")).ShouldBeError(40003);
    }

    [Fact]
    public async Task Snapshot_users_get_virtual_ids_and_is_snapshotuser_1()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var truth = await sandbox.TruthAsync("alice");
        var token = await sandbox.OAuthAsync(await sandbox.CodeAsync("alice", "authorize", new { appid = Oa, scope = "snsapi_userinfo", snapshot = true }));
        token.GetProperty("is_snapshotuser").GetInt32().Should().Be(1);
        token.Str("openid").Should().NotBe(truth.GetProperty("openids").Str(Oa)).And.HaveLength(28).And.StartWith("o");
        token.Str("unionid").Should().NotBe(truth.GetProperty("unionids").Str("acme"));
        var info = await sandbox.GetAsync($"sns/userinfo?access_token={token.Str("access_token")}&openid={token.Str("openid")}");
        info.Str("nickname").Should().Be("微信用户");
    }

    [Fact]
    public async Task Refresh_extends_a_live_token_renews_a_dead_one_and_ends_after_30_days()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var token = await sandbox.OAuthAsync(await sandbox.CodeAsync("alice", "authorize", new { appid = Oa, scope = "snsapi_userinfo" }));
        string Refresh(string rt) => $"sns/oauth2/refresh_token?appid={Oa}&grant_type=refresh_token&refresh_token={Uri.EscapeDataString(rt)}";
        await sandbox.AdvanceAsync(7000);
        var same = await sandbox.GetAsync(Refresh(token.Str("refresh_token")));
        same.Str("access_token").Should().Be(token.Str("access_token"));
        same.GetProperty("expires_in").GetInt32().Should().Be(7200);
        await sandbox.AdvanceAsync(7201);
        (await sandbox.GetAsync($"sns/auth?access_token={token.Str("access_token")}&openid={token.Str("openid")}")).ShouldBeError(42001);
        var renewed = await sandbox.GetAsync(Refresh(token.Str("refresh_token")));
        renewed.Str("access_token").Should().NotBe(token.Str("access_token"));
        renewed.Str("openid").Should().Be(token.Str("openid"));
        (await sandbox.GetAsync(Refresh("nope"))).ShouldBeError(40030);
        await sandbox.AdvanceAsync(30 * 86_400);
        (await sandbox.GetAsync(Refresh(token.Str("refresh_token")))).ShouldBeError(42002);
    }

    [Fact]
    public async Task Oa_code_lives_5_minutes_website_and_app_codes_10()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var oaCode = await sandbox.CodeAsync("bob", "authorize", new { appid = Oa, scope = "snsapi_base" });
        var webCode = await sandbox.CodeAsync("bob", "login", new { appid = DemoWorld.Website });
        var appCode = await sandbox.CodeAsync("bob", "login", new { appid = DemoWorld.MobileApp });
        await sandbox.AdvanceAsync(301);
        (await sandbox.OAuthAsync(oaCode)).ShouldBeError(40029);
        var web = await sandbox.OAuthAsync(webCode, DemoWorld.Website);
        web.Str("unionid").Should().Be((await sandbox.TruthAsync("bob")).GetProperty("unionids").Str("acme"), "website apps bound to the union space get it");
        web.Str("scope").Should().Be("snsapi_login");
        await sandbox.AdvanceAsync(300);
        (await sandbox.OAuthAsync(appCode, DemoWorld.MobileApp)).ShouldBeError(40029);
    }

    [Fact]
    public async Task Authorize_page_redirects_with_code_and_state_or_state_only_on_deny()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var redirect = Uri.EscapeDataString("https://shop.example/cb?x=1");
        using var allowed = await sandbox.Http.GetAsync(new Uri($"open/connect/oauth2/authorize?appid={Oa}&redirect_uri={redirect}&response_type=code&scope=snsapi_userinfo&state=abc&sandbox_user=alice", UriKind.Relative));
        allowed.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var location = allowed.Headers.Location!.ToString();
        location.Should().StartWith("https://shop.example/cb?x=1&code=").And.EndWith("&state=abc");
        var code = Uri.UnescapeDataString(location.Split("code=")[1].Split('&')[0]);
        (await sandbox.OAuthAsync(code)).Str("openid").Should().Be((await sandbox.TruthAsync("alice")).GetProperty("openids").Str(Oa));

        using var snapshot = await sandbox.Http.GetAsync(new Uri($"open/connect/oauth2/authorize?appid={Oa}&redirect_uri={redirect}&response_type=code&scope=snsapi_userinfo&state=s&sandbox_user=alice&sandbox_snapshot=1", UriKind.Relative));
        var snapCode = Uri.UnescapeDataString(snapshot.Headers.Location!.ToString().Split("code=")[1].Split('&')[0]);
        (await sandbox.OAuthAsync(snapCode)).GetProperty("is_snapshotuser").GetInt32().Should().Be(1);

        using var denied = await sandbox.Http.GetAsync(new Uri($"open/connect/oauth2/authorize?appid={Oa}&redirect_uri={redirect}&response_type=code&scope=snsapi_base&state=xyz&sandbox_user=alice&sandbox_action=deny", UriKind.Relative));
        denied.Headers.Location!.ToString().Should().Be("https://shop.example/cb?x=1&state=xyz");

        using var web = await sandbox.Http.GetAsync(new Uri($"open/connect/qrconnect?appid={DemoWorld.Website}&redirect_uri={redirect}&response_type=code&scope=snsapi_login&state=w&sandbox_user=bob", UriKind.Relative));
        web.StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task Authorize_page_shows_a_picker_and_wechat_page_errors()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var page = await sandbox.Http.GetStringAsync(new Uri($"open/connect/oauth2/authorize?appid={Oa}&redirect_uri=https%3A%2F%2Fa.example%2F&response_type=code&scope=snsapi_userinfo&state=1", UriKind.Relative));
        page.Should().Contain("<form").And.Contain("<option>alice</option>").And.Contain("sandbox_snapshot").And.Contain("name=\"redirect_uri\"");
        (await sandbox.Http.GetStringAsync(new Uri("open/connect/oauth2/authorize?redirect_uri=x&scope=snsapi_base", UriKind.Relative))).Should().Contain("10012");
        (await sandbox.Http.GetStringAsync(new Uri($"open/connect/oauth2/authorize?appid={Oa}&redirect_uri=https%3A%2F%2Fa.example%2F&scope=snsapi_login", UriKind.Relative))).Should().Contain("10005");
        (await sandbox.Http.GetStringAsync(new Uri($"open/connect/qrconnect?appid={Oa}&redirect_uri=https%3A%2F%2Fa.example%2F&scope=snsapi_login", UriKind.Relative))).Should().Contain("10016");
    }
}
