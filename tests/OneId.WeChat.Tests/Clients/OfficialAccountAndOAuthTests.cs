using System.Text.Json.Nodes;
using FluentAssertions;
using OneId.Sandbox.World;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;
using OneId.WeChat.Tests.Support;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Clients;

public sealed class OfficialAccountAndOAuthTests(SandboxWeChat wx) : IClassFixture<SandboxWeChat>
{
    private static readonly AppId Oa = AppId.Parse(DemoWorld.OfficialAccount);

    [Fact]
    public async Task User_info_of_a_follower_carries_the_unionid_and_blanked_profile()
    {
        using var host = wx.NewHost();
        var user = await wx.NewUserAsync("Carol");
        var openid = (await wx.ControlAsync($"_sandbox/users/{user}/follow", new JsonObject { ["appid"] = Oa.Value }))["openid"]!.GetValue<string>();
        var truth = await wx.TruthAsync(user);

        var info = await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), OpenId.Parse(openid));

        info.Subscribe.Should().BeTrue();
        info.OpenId.Value.Should().Be(openid);
        info.UnionId!.Value.Value.Should().Be(truth["unionids"]![DemoWorld.UnionSpace]!.GetValue<string>());
        info.Nickname.Should().BeNullOrEmpty("nicknames are blanked since 2021-12");
    }

    [Fact]
    public async Task User_info_of_a_non_follower_says_so()
    {
        using var host = wx.NewHost();
        var user = await wx.NewUserAsync();
        var openid = (await wx.TruthAsync(user))["openids"]![Oa.Value]!.GetValue<string>();

        var info = await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), OpenId.Parse(openid));

        info.Subscribe.Should().BeFalse();
        info.OpenId.Value.Should().Be(openid);
    }

    [Fact]
    public async Task An_openid_of_another_app_is_40003_and_not_transient()
    {
        using var host = wx.NewHost();
        var user = await wx.NewUserAsync();
        var mpOpenId = (await wx.TruthAsync(user))["openids"]![DemoWorld.MiniProgram]!.GetValue<string>();

        var act = () => host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), OpenId.Parse(mpOpenId));

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().Be(40003);
        error.IsTransient.Should().BeFalse();
        error.Endpoint.Should().Be("cgi-bin/user/info");
    }

    [Fact]
    public async Task Batchget_and_follower_paging()
    {
        using var host = wx.NewHost();
        var client = host.Get<OfficialAccountClient>();
        var users = new List<OpenId>();
        for (var i = 0; i < 3; i++)
        {
            var user = await wx.NewUserAsync();
            users.Add(OpenId.Parse((await wx.ControlAsync($"_sandbox/users/{user}/follow", new JsonObject { ["appid"] = Oa.Value }))["openid"]!.GetValue<string>()));
        }

        var batch = await client.BatchGetUserInfoAsync(TokenKey.App(Oa), users);
        var all = new List<OpenId>();
        await foreach (var openId in client.GetAllFollowersAsync(TokenKey.App(Oa)))
        {
            all.Add(openId);
        }

        batch.Users.Select(u => u.OpenId).Should().BeEquivalentTo(users);
        batch.Users.Should().OnlyContain(u => u.Subscribe && u.UnionId != null);
        all.Should().Contain(users).And.OnlyHaveUniqueItems();
        var tooMany = () => client.BatchGetUserInfoAsync(TokenKey.App(Oa), Enumerable.Repeat(users[0], 101).ToArray());
        await tooMany.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Web_authorization_with_userinfo_scope()
    {
        using var host = wx.NewHost();
        var oauth = host.Get<WeChatOAuthClient>();
        var user = await wx.NewUserAsync("Dora");
        var truth = await wx.TruthAsync(user);
        var code = await wx.CodeAsync(user, "authorize", new JsonObject { ["appid"] = Oa.Value, ["scope"] = "snsapi_userinfo" });

        var token = await oauth.ExchangeCodeAsync(Oa, code);
        var profile = await oauth.GetUserInfoAsync(token.AccessToken, token.OpenId);
        var refreshed = await oauth.RefreshAsync(Oa, token.RefreshToken);

        token.OpenId.Value.Should().Be(truth["openids"]![Oa.Value]!.GetValue<string>());
        token.UnionId!.Value.Value.Should().Be(truth["unionids"]![DemoWorld.UnionSpace]!.GetValue<string>());
        token.IsSnapshotUser.Should().BeFalse();
        token.HasUserInfoScope.Should().BeTrue();
        profile.OpenId.Should().Be(token.OpenId);
        profile.Nickname.Should().Be("Dora");
        (await oauth.ValidateAsync(token.AccessToken, token.OpenId)).Should().BeTrue();
        (await oauth.ValidateAsync("not-a-token", token.OpenId)).Should().BeFalse();
        refreshed.OpenId.Should().Be(token.OpenId);
        token.ToString().Should().NotContain(token.AccessToken);

        var reuse = () => oauth.ExchangeCodeAsync(Oa, code);
        var error = (await reuse.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().Be(40163);
        error.IsInvalidCode.Should().BeTrue();
    }

    [Fact]
    public async Task Silent_base_scope_gives_openid_only_and_userinfo_is_refused()
    {
        using var host = wx.NewHost();
        var oauth = host.Get<WeChatOAuthClient>();
        var user = await wx.NewUserAsync();
        var code = await wx.CodeAsync(user, "authorize", new JsonObject { ["appid"] = Oa.Value, ["scope"] = "snsapi_base" });

        var token = await oauth.ExchangeCodeAsync(Oa, code);
        var act = () => oauth.GetUserInfoAsync(token.AccessToken, token.OpenId);

        token.HasUserInfoScope.Should().BeFalse();
        (await act.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(48001);
    }

    [Fact]
    public async Task Snapshot_users_are_flagged()
    {
        using var host = wx.NewHost();
        var user = await wx.NewUserAsync();
        var code = await wx.CodeAsync(user, "authorize", new JsonObject { ["appid"] = Oa.Value, ["scope"] = "snsapi_userinfo", ["snapshot"] = true });

        var token = await host.Get<WeChatOAuthClient>().ExchangeCodeAsync(Oa, code);

        token.IsSnapshotUser.Should().BeTrue();
        token.OpenId.Value.Should().NotBe((await wx.TruthAsync(user))["openids"]![Oa.Value]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_refresh_token_is_40030()
    {
        using var host = wx.NewHost();

        var act = () => host.Get<WeChatOAuthClient>().RefreshAsync(Oa, "no-such-refresh-token");

        (await act.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(40030);
    }

    [Fact]
    public async Task Clear_quota_is_accepted_for_the_app_itself()
    {
        using var host = wx.NewHost();

        await host.Get<OfficialAccountClient>().ClearQuotaAsync(TokenKey.App(Oa), Oa);

        (await wx.CallsAsync("/cgi-bin/clear_quota")).Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task An_unknown_code_is_40029()
    {
        using var host = wx.NewHost();

        var act = () => host.Get<WeChatOAuthClient>().ExchangeCodeAsync(Oa, "no-such-code");

        (await act.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(40029);
    }

    [Theory]
    [InlineData(DemoWorld.Website)]
    [InlineData(DemoWorld.MobileApp)]
    public async Task Website_qr_and_mobile_app_login_exchange_codes_for_the_unionid(string appid)
    {
        using var host = wx.NewHost();
        var user = await wx.NewUserAsync();
        var code = await wx.CodeAsync(user, "login", new JsonObject { ["appid"] = appid });

        var token = await host.Get<WeChatOAuthClient>().ExchangeCodeAsync(AppId.Parse(appid), code);

        var truth = await wx.TruthAsync(user);
        token.OpenId.Value.Should().Be(truth["openids"]![appid]!.GetValue<string>());
        token.UnionId!.Value.Value.Should().Be(truth["unionids"]![DemoWorld.UnionSpace]!.GetValue<string>());
    }

    [Fact]
    public async Task Authorize_urls_are_what_the_authorize_pages_accept()
    {
        using var host = wx.NewHost();
        var oauth = host.Get<WeChatOAuthClient>();
        var redirect = new Uri("https://shop.example/wx/callback?from=menu");

        var authorize = oauth.BuildAuthorizeUrl(Oa, redirect, OAuthScope.SnsApiUserInfo, "abc123");
        var qr = oauth.BuildQrConnectUrl(AppId.Parse(DemoWorld.Website), redirect, "xyz", "en");

        authorize.AbsoluteUri.Should().StartWith(wx.Sandbox.OpenBaseAddress + "connect/oauth2/authorize?appid=" + Oa.Value)
            .And.Contain("redirect_uri=https%3A%2F%2Fshop.example%2Fwx%2Fcallback%3Ffrom%3Dmenu")
            .And.Contain("response_type=code&scope=snsapi_userinfo&state=abc123").And.EndWith("#wechat_redirect");
        qr.AbsoluteUri.Should().Contain("connect/qrconnect?").And.Contain("scope=snsapi_login").And.Contain("lang=en").And.EndWith("#wechat_redirect");
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        foreach (var url in new[] { authorize, qr })
        {
            using var page = await browser.GetAsync(url);
            ((int)page.StatusCode).Should().BeLessThan(400);
            (await page.Content.ReadAsStringAsync()).Should().NotContain("10012").And.NotContain("10011");
        }
        var badState = () => oauth.BuildAuthorizeUrl(Oa, redirect, OAuthScope.SnsApiBase, "has space");
        badState.Should().Throw<ArgumentException>();
    }
}
