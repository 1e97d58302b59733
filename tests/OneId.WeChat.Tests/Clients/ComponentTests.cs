using System.Globalization;
using System.Text.Json.Nodes;
using FluentAssertions;
using OneId.Sandbox.World;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Crypto;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;
using OneId.WeChat.Tests.Support;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Clients;

public sealed class ComponentTests(SandboxWeChat wx) : IClassFixture<SandboxWeChat>
{
    private static readonly AppId Component = AppId.Parse(DemoWorld.Component);
    private static readonly AppId AuthorizerOa = AppId.Parse(DemoWorld.AuthorizerOfficialAccount);
    private static readonly AppId Mp = AppId.Parse(DemoWorld.MiniProgram);

    // The platform's message Token / EncodingAESKey in the demo world; its pushes carry the component appid as receiveid.
    private static readonly WeChatMessageCrypto Crypto = new("componenttoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", DemoWorld.Component);

    /// <summary>Plays WeChat's push to the authorization event URL: encrypt, sign, then what the hub does: decrypt, handle.</summary>
    private static Task<ComponentInfoEvent> PushAsync(ComponentClient client, string infoType, params (string Name, string Value)[] fields) =>
        PushAtAsync(client, DateTimeOffset.UtcNow, infoType, fields);

    private static async Task<ComponentInfoEvent> PushAtAsync(ComponentClient client, DateTimeOffset createTime, string infoType, params (string Name, string Value)[] fields)
    {
        var xml = $"<xml><AppId><![CDATA[{DemoWorld.Component}]]></AppId><CreateTime>{createTime.ToUnixTimeSeconds()}</CreateTime><InfoType><![CDATA[{infoType}]]></InfoType>"
            + string.Concat(fields.Select(f => $"<{f.Name}><![CDATA[{f.Value}]]></{f.Name}>")) + "</xml>";
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var encrypted = Crypto.Encrypt(xml, timestamp, "12345");
        var decrypted = Crypto.DecryptCallback(encrypted.MsgSignature, timestamp, "12345", WeChatMessageCrypto.BuildEncryptedBody(DemoWorld.Component, encrypted.Encrypt));
        return await client.HandleInfoEventAsync(decrypted.Message);
    }

    private async Task<string> TicketAsync() =>
        (await wx.ControlAsync($"_sandbox/components/{DemoWorld.Component}/ticket"))["component_verify_ticket"]!.GetValue<string>();

    [Fact]
    public async Task A_stale_verify_ticket_is_not_logged_as_stored_and_the_newer_one_is_kept()
    {
        var logs = new List<string>();
        using var host = wx.NewHost(services: s => s.AddLogging(b => b.AddProvider(new ListLoggerProvider(logs)).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace)));
        var client = host.Get<ComponentClient>();
        var now = DateTimeOffset.UtcNow;

        await PushAtAsync(client, now, "component_verify_ticket", ("ComponentVerifyTicket", "ticket@@@newer"));
        await PushAtAsync(client, now.AddMinutes(-10), "component_verify_ticket", ("ComponentVerifyTicket", "ticket@@@older"));

        (await host.Get<ITokenStore>().GetVerifyTicketAsync(Component, default))!.Ticket.Should().Be("ticket@@@newer");
        logs.Where(l => l.Contains("Stored component_verify_ticket")).Should().ContainSingle().Which.Should().Contain(SecretFingerprint.Of("ticket@@@newer"));
        logs.Should().Contain(l => l.Contains("Ignored component_verify_ticket") && l.Contains(SecretFingerprint.Of("ticket@@@older")));
        logs.Should().NotContain(l => l.Contains("ticket@@@"), "tickets are logged as fingerprints only");
    }

    [Fact]
    public async Task Without_a_verify_ticket_the_component_token_error_says_what_to_check()
    {
        using var host = wx.NewHost();

        var act = () => host.Tokens.GetTokenAsync(TokenKey.Component(Component)).AsTask();

        (await act.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*component_verify_ticket*authorization event URL*");
    }

    [Fact]
    public async Task Ticket_push_then_component_token_pre_auth_code_and_authorize_page()
    {
        using var host = wx.NewHost();
        var client = host.Get<ComponentClient>();

        var info = await PushAsync(client, "component_verify_ticket", ("ComponentVerifyTicket", await TicketAsync()));
        var token = await host.Tokens.GetTokenAsync(TokenKey.Component(Component));
        var preAuth = await client.CreatePreAuthCodeAsync(Component);
        var page = client.BuildAuthorizePageUrl(Component, preAuth.Code, new Uri("https://isv.example/authorized"), ComponentAuthType.OfficialAccount);

        info.InfoType.Should().Be("component_verify_ticket");
        (await host.Get<ITokenStore>().GetVerifyTicketAsync(Component, default)).Should().NotBeNull();
        token.Value.Should().NotBeNullOrEmpty();
        preAuth.Code.Should().NotBeNullOrEmpty();
        preAuth.ExpiresIn.Should().BePositive();
        page.AbsoluteUri.Should().Contain("cgi-bin/componentloginpage?component_appid=" + Component.Value).And.Contain("auth_type=1");
    }

    [Fact]
    public async Task Authorized_event_persists_the_refresh_token_and_the_authorizer_token_works_until_unauthorized()
    {
        using var host = wx.NewHost();
        var client = host.Get<ComponentClient>();
        await PushAsync(client, "component_verify_ticket", ("ComponentVerifyTicket", await TicketAsync()));
        var grant = await wx.ControlAsync($"_sandbox/components/{DemoWorld.Component}/authorize", new JsonObject { ["authorizer_appid"] = AuthorizerOa.Value });

        await PushAsync(client, "authorized", ("AuthorizerAppid", AuthorizerOa.Value), ("AuthorizationCode", grant["authorization_code"]!.GetValue<string>()));
        var user = await wx.NewUserAsync();
        var openid = (await wx.ControlAsync($"_sandbox/users/{user}/follow", new JsonObject { ["appid"] = AuthorizerOa.Value }))["openid"]!.GetValue<string>();
        var info = await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.Authorizer(Component, AuthorizerOa), OpenId.Parse(openid));

        (await host.Get<ITokenStore>().GetAuthorizerRefreshTokenAsync(Component, AuthorizerOa, default)).Should().NotBeNullOrEmpty();
        info.Subscribe.Should().BeTrue();
        (await wx.CallsAsync("/cgi-bin/component/api_authorizer_token")).Should().Be(0, "api_query_auth's token was kept");

        // Once that token nears its end, the persisted refresh token gets the next one.
        wx.Sandbox.Clock.Advance(TimeSpan.FromSeconds(7200 - 100));
        (await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.Authorizer(Component, AuthorizerOa), OpenId.Parse(openid))).Subscribe.Should().BeTrue();
        (await wx.CallsAsync("/cgi-bin/component/api_authorizer_token")).Should().Be(1);

        await wx.ControlAsync($"_sandbox/components/{DemoWorld.Component}/unauthorize", new JsonObject { ["authorizer_appid"] = AuthorizerOa.Value });
        await PushAsync(client, "unauthorized", ("AuthorizerAppid", AuthorizerOa.Value));
        (await host.Get<ITokenStore>().GetAuthorizerRefreshTokenAsync(Component, AuthorizerOa, default)).Should().BeNull();
        var act = () => host.Tokens.GetTokenAsync(TokenKey.Authorizer(Component, AuthorizerOa)).AsTask();
        (await act.Should().ThrowAsync<PlatformNotAuthorizedException>()).WithMessage("*authorize the platform*");
    }

    [Fact]
    public async Task Component_code2session_and_web_oauth_for_authorizer_apps()
    {
        using var host = wx.NewHost();
        var client = host.Get<ComponentClient>();
        await PushAsync(client, "component_verify_ticket", ("ComponentVerifyTicket", await TicketAsync()));
        var user = await wx.NewUserAsync();
        var truth = await wx.TruthAsync(user);

        var session = await client.Code2SessionAsync(Component, Mp, await wx.CodeAsync(user, "login", new JsonObject { ["appid"] = Mp.Value }));
        var code = await wx.CodeAsync(user, "authorize", new JsonObject { ["appid"] = AuthorizerOa.Value, ["scope"] = "snsapi_userinfo", ["component_appid"] = Component.Value });
        var oauth = await client.ExchangeOAuthCodeAsync(Component, AuthorizerOa, code);
        var refreshed = await client.RefreshOAuthTokenAsync(Component, AuthorizerOa, oauth.RefreshToken);

        session.OpenId.Value.Should().Be(truth["openids"]![Mp.Value]!.GetValue<string>());
        oauth.OpenId.Value.Should().Be(truth["openids"]![AuthorizerOa.Value]!.GetValue<string>());
        refreshed.OpenId.Should().Be(oauth.OpenId);
        client.BuildOAuthAuthorizeUrl(Component, AuthorizerOa, new Uri("https://isv.example/cb"), OAuthScope.SnsApiBase, "s1")
            .AbsoluteUri.Should().Contain("component_appid=" + Component.Value).And.EndWith("#wechat_redirect");
    }

    [Fact]
    public async Task Start_push_ticket_is_accepted()
    {
        using var host = wx.NewHost();

        await host.Get<ComponentClient>().StartPushTicketAsync(Component);

        (await wx.CallsAsync("/cgi-bin/component/api_start_push_ticket")).Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task The_authorize_page_url_leads_to_an_auth_code_that_query_auth_redeems()
    {
        using var host = wx.NewHost();
        var client = host.Get<ComponentClient>();
        await PushAsync(client, "component_verify_ticket", ("ComponentVerifyTicket", await TicketAsync()));
        var preAuth = await client.CreatePreAuthCodeAsync(Component);
        var page = client.BuildAuthorizePageUrl(Component, preAuth.Code, new Uri("https://isv.example/authorized"), ComponentAuthType.MiniProgram);

        // The admin picks the mini program on the page (the sandbox's shortcut parameter plays the click).
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var answer = await browser.GetAsync(page + "&sandbox_authorizer=" + Mp.Value);
        var redirect = answer.Headers.Location!;
        var authCode = System.Web.HttpUtility.ParseQueryString(redirect.Query)["auth_code"]!;
        var info = await client.QueryAuthAsync(Component, authCode);

        redirect.GetLeftPart(UriPartial.Path).Should().Be("https://isv.example/authorized");
        info.AuthorizerAppId.Should().Be(Mp);
        (await host.Get<ITokenStore>().GetAuthorizerRefreshTokenAsync(Component, Mp, default)).Should().Be(info.AuthorizerRefreshToken);
        (await host.Tokens.GetTokenAsync(TokenKey.Authorizer(Component, Mp))).Value.Should().NotBeNullOrEmpty();
        var reuse = () => client.QueryAuthAsync(Component, authCode);
        (await reuse.Should().ThrowAsync<OneId.WeChat.Http.WeChatApiException>()).Which.IsInvalidCode.Should().BeTrue();
    }
}
