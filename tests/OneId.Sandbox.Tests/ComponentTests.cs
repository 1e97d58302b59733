using System.Text.Json;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class ComponentTests
{
    private const string Component = DemoWorld.Component;

    private static async Task<string> TicketFromPushAsync(TestSandbox sandbox, int count = 1)
    {
        var push = await sandbox.Receiver!.WaitForAsync(p => p.Path == "component", count: count);
        push.Query["msg_signature"].Should().Be(CallbackOracle.Sha1Sorted("componenttoken", push.Query["timestamp"], push.Query["nonce"], CallbackOracle.Between(push.Body, "Encrypt")));
        CallbackOracle.Between(push.Body, "AppId").Should().Be(Component);
        var (xml, receiveId) = CallbackOracle.Decrypt(TestWorlds.ComponentAesKey, CallbackOracle.Between(push.Body, "Encrypt"));
        receiveId.Should().Be(Component);
        CallbackOracle.Between(xml, "InfoType").Should().Be("component_verify_ticket");
        CallbackOracle.Between(xml, "AppId").Should().Be(Component);
        return CallbackOracle.Between(xml, "ComponentVerifyTicket");
    }

    private static Task<JsonElement> ComponentToken(TestSandbox sandbox, string ticket) =>
        sandbox.PostAsync("cgi-bin/component/api_component_token", new { component_appid = Component, component_appsecret = DemoWorld.SecretOf(Component), component_verify_ticket = ticket });

    [Fact]
    public async Task Ticket_pushed_at_start_and_every_10_sandbox_minutes_buys_a_component_token()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        var ticket = await TicketFromPushAsync(sandbox);
        ticket.Should().StartWith("ticket@@@");
        var token = await ComponentToken(sandbox, ticket);
        token.Str("component_access_token").Should().NotBeEmpty();
        token.GetProperty("expires_in").GetInt32().Should().Be(7200);
        (await ComponentToken(sandbox, "ticket@@@forged")).ShouldBeError(61006);
        (await sandbox.PostAsync("cgi-bin/component/api_component_token", new { component_appid = Component, component_appsecret = "bad", component_verify_ticket = ticket })).ShouldBeError(40125);

        await sandbox.AdvanceAsync(600);
        var next = await TicketFromPushAsync(sandbox, count: 2);
        next.Should().NotBe(ticket);
        await sandbox.AdvanceAsync(12 * 3600);
        (await ComponentToken(sandbox, ticket)).ShouldBeError(61005);
    }

    [Fact]
    public async Task Authorization_flow_gives_authorizer_tokens_that_act_for_the_app_until_unauthorized()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        var componentToken = (await ComponentToken(sandbox, await TicketFromPushAsync(sandbox))).Str("component_access_token");

        // Both token parameter names are accepted (§5.2).
        (await sandbox.PostAsync($"cgi-bin/component/api_create_preauthcode?component_access_token={componentToken}", new { component_appid = Component })).Str("pre_auth_code").Should().StartWith("preauthcode@@@");
        (await sandbox.PostAsync($"cgi-bin/component/api_create_preauthcode?access_token={componentToken}", new { component_appid = Component })).GetProperty("expires_in").GetInt32().Should().Be(1800);
        (await sandbox.PostAsync($"cgi-bin/component/api_create_preauthcode?access_token={await sandbox.AppTokenAsync(DemoWorld.OfficialAccount)}", new { component_appid = Component })).ShouldBeError(61014);

        var authorizer = DemoWorld.AuthorizerOfficialAccount;
        var code = (await sandbox.ControlAsync($"components/{Component}/authorize", new { authorizer_appid = authorizer })).Str("authorization_code");
        var authorized = await sandbox.Receiver!.WaitForAsync(p => p.Path == "component" && CallbackOracle.Decrypt(TestWorlds.ComponentAesKey, CallbackOracle.Between(p.Body, "Encrypt")).Message.Contains("<InfoType><![CDATA[authorized]]>", StringComparison.Ordinal));
        authorized.Should().NotBeNull();

        var auth = (await sandbox.PostAsync($"cgi-bin/component/api_query_auth?access_token={componentToken}", new { component_appid = Component, authorization_code = code })).GetProperty("authorization_info");
        auth.Str("authorizer_appid").Should().Be(authorizer);
        (await sandbox.PostAsync($"cgi-bin/component/api_query_auth?access_token={componentToken}", new { component_appid = Component, authorization_code = code })).ShouldBeError(61009);

        await sandbox.ControlAsync("users/alice/follow", new { appid = authorizer });
        var openid = (await sandbox.TruthAsync("alice")).GetProperty("openids").Str(authorizer);
        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={auth.Str("authorizer_access_token")}&openid={openid}")).GetProperty("subscribe").GetInt32().Should().Be(1);

        var refreshed = await sandbox.PostAsync($"cgi-bin/component/api_authorizer_token?component_access_token={componentToken}",
            new { component_appid = Component, authorizer_appid = authorizer, authorizer_refresh_token = auth.Str("authorizer_refresh_token") });
        refreshed.Str("authorizer_refresh_token").Should().Be(auth.Str("authorizer_refresh_token"));
        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={refreshed.Str("authorizer_access_token")}&openid={openid}")).GetProperty("subscribe").GetInt32().Should().Be(1);

        await sandbox.ControlAsync($"components/{Component}/unauthorize", new { authorizer_appid = authorizer });
        (await sandbox.PostAsync($"cgi-bin/component/api_authorizer_token?component_access_token={componentToken}",
            new { component_appid = Component, authorizer_appid = authorizer, authorizer_refresh_token = auth.Str("authorizer_refresh_token") })).ShouldBeError(61023);
    }

    [Fact]
    public async Task Component_jscode2session_and_oauth_act_for_authorizers_only()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var ticket = (await sandbox.ControlAsync($"components/{Component}/ticket")).Str("component_verify_ticket");
        var token = (await ComponentToken(sandbox, ticket)).Str("component_access_token");
        var truth = await sandbox.TruthAsync("alice");

        var code = await sandbox.CodeAsync("alice", "login", new { appid = DemoWorld.MiniProgram });
        var session = await sandbox.GetAsync($"sns/component/jscode2session?appid={DemoWorld.MiniProgram}&js_code={code}&grant_type=authorization_code&component_appid={Component}&component_access_token={token}");
        session.Str("openid").Should().Be(truth.GetProperty("openids").Str(DemoWorld.MiniProgram));
        session.Str("unionid").Should().Be(truth.GetProperty("unionids").Str("acme"));
        var other = await sandbox.CodeAsync("alice", "login", new { appid = DemoWorld.UnboundMiniProgram });
        (await sandbox.GetAsync($"sns/component/jscode2session?appid={DemoWorld.UnboundMiniProgram}&js_code={other}&grant_type=authorization_code&component_appid={Component}&access_token={token}")).ShouldBeError(61003);

        var oauthCode = await sandbox.CodeAsync("alice", "authorize", new { appid = DemoWorld.AuthorizerOfficialAccount, scope = "snsapi_userinfo", component_appid = Component });
        (await sandbox.OAuthAsync(oauthCode, DemoWorld.AuthorizerOfficialAccount)).ShouldBeError(40029);
        var oauthCode2 = await sandbox.CodeAsync("alice", "authorize", new { appid = DemoWorld.AuthorizerOfficialAccount, scope = "snsapi_userinfo", component_appid = Component });
        var user = await sandbox.GetAsync($"sns/oauth2/component/access_token?appid={DemoWorld.AuthorizerOfficialAccount}&code={oauthCode2}&grant_type=authorization_code&component_appid={Component}&component_access_token={token}");
        user.Str("openid").Should().Be(truth.GetProperty("openids").Str(DemoWorld.AuthorizerOfficialAccount));
        var refreshed = await sandbox.GetAsync($"sns/oauth2/component/refresh_token?appid={DemoWorld.AuthorizerOfficialAccount}&grant_type=refresh_token&component_appid={Component}&access_token={token}&refresh_token={Uri.EscapeDataString(user.Str("refresh_token"))}");
        refreshed.Str("access_token").Should().Be(user.Str("access_token"));
    }

    [Fact]
    public async Task Component_login_page_spends_the_pre_auth_code_and_redirects_with_auth_code()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        var token = (await ComponentToken(sandbox, await TicketFromPushAsync(sandbox))).Str("component_access_token");
        var pre = (await sandbox.PostAsync($"cgi-bin/component/api_create_preauthcode?access_token={token}", new { component_appid = Component })).Str("pre_auth_code");
        var page = $"mp/cgi-bin/componentloginpage?component_appid={Component}&pre_auth_code={Uri.EscapeDataString(pre)}&redirect_uri=https%3A%2F%2Fisv.example%2Fauth&auth_type=1";
        (await sandbox.Http.GetStringAsync(new Uri(page, UriKind.Relative))).Should().Contain(DemoWorld.OfficialAccount).And.NotContain(DemoWorld.MiniProgram);

        using var done = await sandbox.Http.GetAsync(new Uri(page + "&sandbox_authorizer=" + DemoWorld.OfficialAccount, UriKind.Relative));
        done.StatusCode.Should().Be(System.Net.HttpStatusCode.Redirect);
        var location = done.Headers.Location!.ToString();
        location.Should().StartWith("https://isv.example/auth?auth_code=queryauthcode%40%40%40").And.EndWith("&expires_in=3600");
        var authCode = Uri.UnescapeDataString(location.Split("auth_code=")[1].Split('&')[0]);
        var info = (await sandbox.PostAsync($"cgi-bin/component/api_query_auth?component_access_token={token}", new { component_appid = Component, authorization_code = authCode })).GetProperty("authorization_info");
        info.Str("authorizer_appid").Should().Be(DemoWorld.OfficialAccount);

        using var again = await sandbox.Http.GetAsync(new Uri(page + "&sandbox_authorizer=" + DemoWorld.OfficialAccount, UriKind.Relative));
        again.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        (await again.Content.ReadAsStringAsync()).Should().Contain("61009");
    }
}
