using System.Diagnostics;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class OfficialAccountTests
{
    private const string Oa = DemoWorld.OfficialAccount;

    [Fact]
    public async Task User_info_of_a_follower_has_blanked_profile_unionid_and_int_booleans()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var token = await sandbox.AppTokenAsync(Oa);
        var truth = await sandbox.TruthAsync("alice");
        var info = await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}&openid={truth.GetProperty("openids").Str(Oa)}&lang=zh_CN");
        info.GetProperty("subscribe").GetInt32().Should().Be(1);
        info.Str("unionid").Should().Be(truth.GetProperty("unionids").Str("acme"));
        info.Str("nickname").Should().BeEmpty("profiles are blanked since 2021-12 (§2.1)");
        info.Str("headimgurl").Should().BeEmpty();
        info.GetProperty("sex").GetInt32().Should().Be(0);
        info.GetProperty("subscribe_time").GetInt64().Should().BeGreaterThan(1_600_000_000);
        info.Str("subscribe_scene").Should().StartWith("ADD_SCENE_");
        info.GetProperty("tagid_list").GetArrayLength().Should().Be(0);

        var bobOpenid = (await sandbox.TruthAsync("bob")).GetProperty("openids").Str(Oa);
        var notFollowing = await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}&openid={bobOpenid}");
        notFollowing.GetProperty("subscribe").GetInt32().Should().Be(0);
        // A non-follower of a bound OA: subscribe 0, openid and unionid, nothing else (the official field text).
        notFollowing.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(["subscribe", "openid", "unionid"]);
        notFollowing.Str("unionid").Should().Be((await sandbox.TruthAsync("bob")).GetProperty("unionids").Str("acme"));

        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}&openid={truth.GetProperty("openids").Str(DemoWorld.MiniProgram)}")).ShouldBeError(40003);
        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}")).ShouldBeError(41009);
        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={await sandbox.AppTokenAsync(DemoWorld.MiniProgram)}&openid={bobOpenid}")).ShouldBeError(48001);
    }

    [Fact]
    public async Task Follow_and_unfollow_change_user_info()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var token = await sandbox.AppTokenAsync(Oa);
        var follow = await sandbox.ControlAsync("users/bob/follow", new { appid = Oa });
        var openid = follow.Str("openid");
        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}&openid={openid}")).GetProperty("subscribe").GetInt32().Should().Be(1);
        await sandbox.ControlAsync("users/bob/unfollow", new { appid = Oa });
        (await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}&openid={openid}")).GetProperty("subscribe").GetInt32().Should().Be(0);
        (await sandbox.TruthAsync("bob")).GetProperty("follows").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Generated_users_page_10000_at_a_time()
    {
        // How fast generating and paging is belongs to `oneid bench sandbox`, not to a test.
        await using var sandbox = await TestSandbox.StartAsync();
        var generated = await sandbox.ControlAsync("generate", new { users = 100_000, seed = 7, follow = new Dictionary<string, double> { [Oa] = 0.23 } });
        generated.GetProperty("users").GetInt32().Should().Be(100_000);
        var token = await sandbox.AppTokenAsync(Oa);

        var pages = new List<int>();
        var seen = new HashSet<string>();
        string next = "";
        int total;
        while (true)
        {
            var page = await sandbox.GetAsync($"cgi-bin/user/get?access_token={token}&next_openid={next}");
            total = page.GetProperty("total").GetInt32();
            var count = page.GetProperty("count").GetInt32();
            if (count == 0)
            {
                page.TryGetProperty("data", out _).Should().BeFalse();
                page.Str("next_openid").Should().BeEmpty();
                break;
            }
            var ids = page.GetProperty("data").GetProperty("openid").EnumerateArray().Select(e => e.GetString()!).ToList();
            ids.Should().HaveCount(count);
            page.Str("next_openid").Should().Be(ids[^1]);
            seen.UnionWith(ids);
            pages.Add(count);
            next = page.Str("next_openid");
        }
        total.Should().BeInRange(21_000, 25_000, "about 23% of 100k follow, plus alice");
        seen.Should().HaveCount(total);
        pages.Take(pages.Count - 1).Should().OnlyContain(c => c == 10_000);
        pages[^1].Should().Be(total % 10_000 == 0 ? 10_000 : total % 10_000);

        // A generated user resolves like any other.
        var user = generated.Str("first");
        var truth = await sandbox.TruthAsync(user);
        var info = await sandbox.GetAsync($"cgi-bin/user/info?access_token={token}&openid={truth.GetProperty("openids").Str(Oa)}");
        info.Str("openid").Should().Be(truth.GetProperty("openids").Str(Oa));
    }

    [Fact]
    public async Task Batchget_takes_at_most_100_and_fails_on_a_foreign_openid()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        await sandbox.ControlAsync("generate", new { users = 150, seed = 3, follow = new Dictionary<string, double> { [Oa] = 1.0 } });
        var token = await sandbox.AppTokenAsync(Oa);
        var openids = (await sandbox.GetAsync($"cgi-bin/user/get?access_token={token}")).GetProperty("data").GetProperty("openid").EnumerateArray().Select(e => e.GetString()!).ToList();
        openids.Should().HaveCount(151);
        var hundred = await sandbox.PostAsync($"cgi-bin/user/info/batchget?access_token={token}", new { user_list = openids.Take(100).Select(o => new { openid = o, lang = "zh_CN" }) });
        var list = hundred.GetProperty("user_info_list").EnumerateArray().ToList();
        list.Should().HaveCount(100);
        list.Select(u => u.Str("openid")).Should().Equal(openids.Take(100));
        list.Should().OnlyContain(u => u.GetProperty("subscribe").GetInt32() == 1 && u.Str("unionid").Length == 28);

        (await sandbox.PostAsync($"cgi-bin/user/info/batchget?access_token={token}", new { user_list = openids.Take(101).Select(o => new { openid = o }) })).ShouldBeError(40032);
        var foreign = (await sandbox.TruthAsync("bob")).GetProperty("openids").Str(DemoWorld.MiniProgram);
        (await sandbox.PostAsync($"cgi-bin/user/info/batchget?access_token={token}", new { user_list = new[] { new { openid = openids[0] }, new { openid = foreign } } })).ShouldBeError(40003);
    }
}
