using System.Text.Json;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

/// <summary>
/// The OA side of a person's life: non-followers of a bound OA, parametric QR codes (subscribe with qrscene_…, SCAN),
/// an OA account migration with changeopenid, and platform re-authorization.
/// </summary>
public sealed class AccountLifecycleTests
{
    private const string Oa = DemoWorld.OfficialAccount;
    private const string NewOa = "wxa0a0a0a0a0a0a007";

    [Fact]
    public async Task Batchget_answers_a_bound_oas_non_follower_with_openid_and_unionid_only()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var token = await sandbox.AppTokenAsync(Oa);
        var alice = await sandbox.TruthAsync("alice");
        var bob = await sandbox.TruthAsync("bob");
        var list = (await sandbox.PostAsync($"cgi-bin/user/info/batchget?access_token={token}", new
        {
            user_list = new[] { new { openid = alice.GetProperty("openids").Str(Oa), lang = "zh_CN" }, new { openid = bob.GetProperty("openids").Str(Oa), lang = "zh_CN" } },
        })).GetProperty("user_info_list");
        list[0].GetProperty("subscribe").GetInt32().Should().Be(1);
        list[0].Str("unionid").Should().Be(alice.GetProperty("unionids").Str("acme"));
        list[1].EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(["subscribe", "openid", "unionid"]);
        list[1].GetProperty("subscribe").GetInt32().Should().Be(0);
        list[1].Str("unionid").Should().Be(bob.GetProperty("unionids").Str("acme"));
    }

    [Fact]
    public async Task User_get_follows_follows_and_unfollows_after_its_first_page()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var token = await sandbox.AppTokenAsync(Oa);
        async Task<List<string>> AllAsync()
        {
            var page = await sandbox.GetAsync($"cgi-bin/user/get?access_token={token}");
            page.GetProperty("total").GetInt32().Should().Be(page.GetProperty("count").GetInt32());
            return page.TryGetProperty("data", out var data) ? [.. data.GetProperty("openid").EnumerateArray().Select(e => e.GetString()!)] : [];
        }
        var alice = (await sandbox.TruthAsync("alice")).GetProperty("openids").Str(Oa);
        (await AllAsync()).Should().Equal(alice);
        var bob = (await sandbox.ControlAsync("users/bob/follow", new { appid = Oa })).Str("openid");
        (await AllAsync()).Should().Equal(alice, bob);
        await sandbox.ControlAsync("users/alice/unfollow", new { appid = Oa });
        (await AllAsync()).Should().Equal(bob);
        await sandbox.ControlAsync("users/alice/follow", new { appid = Oa });
        (await AllAsync()).Should().Equal(bob, alice);
        // A page handed out before an unfollow still continues: next_openid of a user who left is a valid position.
        (await sandbox.GetAsync($"cgi-bin/user/get?access_token={token}&next_openid={bob}")).GetProperty("data").GetProperty("openid")[0].GetString().Should().Be(alice);
    }

    [Fact]
    public async Task A_qr_scene_brings_a_new_follower_with_qrscene_and_an_existing_one_gets_SCAN()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true, oaEncrypted: false);
        var token = await sandbox.AppTokenAsync(Oa);
        string Create() => $"cgi-bin/qrcode/create?access_token={token}";
        var temporary = await sandbox.PostAsync(Create(), new { action_name = "QR_STR_SCENE", action_info = new { scene = new { scene_str = "poster-7" } } });
        var ticket = temporary.Str("ticket");
        ticket.Should().StartWith("gQ");
        temporary.GetProperty("expire_seconds").GetInt64().Should().Be(60, "a temporary code lives 60 s unless expire_seconds says otherwise");
        temporary.Str("url").Should().StartWith("http://weixin.qq.com/q/");

        // bob does not follow: scanning makes him follow, with EventKey qrscene_<scene> and the ticket.
        var bobOpenid = (await sandbox.ControlAsync("users/bob/scan", new { ticket })).Str("openid");
        var subscribe = await sandbox.Receiver!.WaitForMessageAsync("oa", null, x => CallbackOracle.Between(x, "FromUserName") == bobOpenid);
        CallbackOracle.Between(subscribe, "Event").Should().Be("subscribe");
        CallbackOracle.Between(subscribe, "EventKey").Should().Be("qrscene_poster-7");
        CallbackOracle.Between(subscribe, "Ticket").Should().Be(ticket);
        var info = await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}&openid={bobOpenid}");
        info.Str("subscribe_scene").Should().Be("ADD_SCENE_QR_CODE");
        info.Str("qr_scene_str").Should().Be("poster-7");

        // Scanning again as a follower: SCAN with the bare scene.
        await sandbox.ControlAsync("users/bob/scan", new { ticket });
        var scan = await sandbox.Receiver.WaitForMessageAsync("oa", null, x => CallbackOracle.Between(x, "Event") == "SCAN");
        CallbackOracle.Between(scan, "EventKey").Should().Be("poster-7");
        CallbackOracle.Between(scan, "Ticket").Should().Be(ticket);

        // A permanent number scene: alice follows already (SCAN "42"); a new user follows with qr_scene 42.
        var permanent = await sandbox.PostAsync(Create(), new { action_name = "QR_LIMIT_SCENE", action_info = new { scene = new { scene_id = 42 } } });
        permanent.TryGetProperty("expire_seconds", out _).Should().BeFalse("permanent codes do not expire");
        await sandbox.ControlAsync("users/alice/scan", new { ticket = permanent.Str("ticket") });
        await sandbox.Receiver.WaitForMessageAsync("oa", null, x => CallbackOracle.Between(x, "Event") == "SCAN" && CallbackOracle.Between(x, "EventKey") == "42");
        await sandbox.ControlAsync("users", new { name = "carol" });
        var carol = (await sandbox.ControlAsync("users/carol/scan", new { ticket = permanent.Str("ticket") })).Str("openid");
        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}&openid={carol}")).GetProperty("qr_scene").GetInt64().Should().Be(42);

        // Limits: scene_str 1..64, permanent scene_id 1..100000, the four action names; a temporary code expires.
        (await sandbox.PostAsync(Create(), new { action_name = "QR_STR_SCENE", action_info = new { scene = new { scene_str = new string('x', 65) } } })).ShouldBeError(40053);
        (await sandbox.PostAsync(Create(), new { action_name = "QR_LIMIT_SCENE", action_info = new { scene = new { scene_id = 100_001 } } })).ShouldBeError(40053);
        (await sandbox.PostAsync(Create(), new { action_name = "QR_FOREVER", action_info = new { scene = new { scene_id = 1 } } })).ShouldBeError(40052);
        (await sandbox.PostAsync(Create(), new { expire_seconds = 9_999_999, action_name = "QR_SCENE", action_info = new { scene = new { scene_id = 7 } } }))
            .GetProperty("expire_seconds").GetInt64().Should().Be(2_592_000, "at most 30 days");
        await sandbox.AdvanceAsync(61);
        using var expired = await sandbox.Http.PostAsync(new Uri("_sandbox/users/alice/scan", UriKind.Relative),
            new StringContent(JsonSerializer.Serialize(new { ticket }), System.Text.Encoding.UTF8, "application/json"));
        ((int)expired.StatusCode).Should().Be(410);
    }

    [Fact]
    public async Task An_oa_migration_moves_the_followers_and_changeopenid_maps_old_openids_for_15_days()
    {
        var world = TestWorlds.Create();
        world.Apps.Add(new SandboxApp { Appid = NewOa, Secret = DemoWorld.SecretOf(NewOa), Type = AppTypes.OfficialAccount, Subject = DemoWorld.Subject, UnionSpace = "acme" });
        await using var sandbox = await TestSandbox.StartAsync(world: world);
        var alice = await sandbox.TruthAsync("alice");
        var bob = await sandbox.TruthAsync("bob");
        var oldAlice = alice.GetProperty("openids").Str(Oa);
        (await sandbox.ControlAsync($"apps/{Oa}/migrate", new { to_appid = NewOa })).GetProperty("followers").GetInt32().Should().Be(1);

        var newToken = await sandbox.AppTokenAsync(NewOa);
        string Change() => $"cgi-bin/changeopenid?access_token={newToken}";
        var answer = await sandbox.PostAsync(Change(), new { from_appid = Oa, openid_list = new[] { oldAlice, bob.GetProperty("openids").Str(Oa) } });
        answer.GetProperty("errcode").GetInt32().Should().Be(0);
        var results = answer.GetProperty("result_list").EnumerateArray().ToList();
        results[0].Str("ori_openid").Should().Be(oldAlice);
        results[0].Str("new_openid").Should().Be(alice.GetProperty("openids").Str(NewOa));
        results[0].Str("err_msg").Should().Be("ok");
        results[1].Str("err_msg").Should().Be("ori_openid error", "bob did not follow the old account");
        results[1].TryGetProperty("new_openid", out _).Should().BeFalse();

        var moved = await sandbox.GetAsync($"cgi-bin/user/info?access_token={newToken}&openid={results[0].Str("new_openid")}");
        moved.GetProperty("subscribe").GetInt32().Should().Be(1);
        moved.Str("subscribe_scene").Should().Be("ADD_SCENE_ACCOUNT_MIGRATION");
        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={await sandbox.AppTokenAsync(Oa)}&openid={oldAlice}")).GetProperty("subscribe").GetInt32().Should().Be(0);

        (await sandbox.PostAsync(Change(), new { from_appid = Oa, openid_list = Enumerable.Repeat(oldAlice, 101) })).ShouldBeError(40032);
        (await sandbox.PostAsync(Change(), new { from_appid = DemoWorld.AuthorizerOfficialAccount, openid_list = new[] { oldAlice } })).ShouldBeError(40013);
        await sandbox.AdvanceAsync(15 * 86_400 + 1);
        (await sandbox.PostAsync($"cgi-bin/changeopenid?access_token={await sandbox.AppTokenAsync(NewOa)}", new { from_appid = Oa, openid_list = new[] { oldAlice } })).ShouldBeError(48001);
    }

    [Fact]
    public async Task Re_authorizing_a_platform_issues_a_new_refresh_token_and_the_old_one_answers_61023()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        const string component = DemoWorld.Component;
        var ticket = (await sandbox.ControlAsync($"components/{component}/ticket")).Str("component_verify_ticket");
        var token = (await sandbox.PostAsync("cgi-bin/component/api_component_token",
            new { component_appid = component, component_appsecret = DemoWorld.SecretOf(component), component_verify_ticket = ticket })).Str("component_access_token");
        async Task<string> AuthorizeAsync()
        {
            var code = (await sandbox.ControlAsync($"components/{component}/authorize", new { authorizer_appid = Oa })).Str("authorization_code");
            return (await sandbox.PostAsync($"cgi-bin/component/api_query_auth?component_access_token={token}", new { component_appid = component, authorization_code = code }))
                .GetProperty("authorization_info").Str("authorizer_refresh_token");
        }
        Task<JsonElement> Refresh(string refresh) => sandbox.PostAsync($"cgi-bin/component/api_authorizer_token?component_access_token={token}",
            new { component_appid = component, authorizer_appid = Oa, authorizer_refresh_token = refresh });

        var first = await AuthorizeAsync();
        (await Refresh(first)).Str("authorizer_refresh_token").Should().Be(first);
        var second = await AuthorizeAsync();
        second.Should().NotBe(first);
        (await Refresh(first)).ShouldBeError(61023);
        (await Refresh(second)).Str("authorizer_access_token").Should().NotBeEmpty();
    }
}
