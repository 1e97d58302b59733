using System.Text.RegularExpressions;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class TokenTests
{
    private const string Oa = DemoWorld.OfficialAccount;

    private static Task<System.Text.Json.JsonElement> UserGet(TestSandbox sandbox, string token) => sandbox.GetAsync($"cgi-bin/user/get?access_token={token}");

    [Fact]
    public async Task Token_is_new_on_every_call_and_the_previous_one_lives_300_seconds()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var first = await sandbox.AppTokenAsync(Oa);
        var second = await sandbox.AppTokenAsync(Oa);
        second.Should().NotBe(first);
        (await UserGet(sandbox, first)).ShouldSucceed();

        await sandbox.AdvanceAsync(299);
        (await UserGet(sandbox, first)).ShouldSucceed();
        await sandbox.AdvanceAsync(2);
        (await UserGet(sandbox, first)).ShouldBeError(40001);
        (await UserGet(sandbox, second)).ShouldSucceed();
    }

    [Fact]
    public async Task Token_expires_after_7200_seconds_with_42001()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var json = await sandbox.GetAsync($"cgi-bin/token?grant_type=client_credential&appid={Oa}&secret={DemoWorld.SecretOf(Oa)}");
        json.TryGetProperty("errcode", out _).Should().BeFalse("token successes leave errcode out (§0.1)");
        json.GetProperty("expires_in").GetInt32().Should().Be(7200);
        json.Str("access_token").Length.Should().BeGreaterThan(100);
        await sandbox.AdvanceAsync(7201);
        (await UserGet(sandbox, json.Str("access_token"))).ShouldBeError(42001);
    }

    [Fact]
    public async Task Token_errors_carry_real_codes_and_a_rid_suffix()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var wrongSecret = await sandbox.GetAsync($"cgi-bin/token?grant_type=client_credential&appid={Oa}&secret=nope");
        wrongSecret.ShouldBeError(40125);
        wrongSecret.Str("errmsg").Should().MatchRegex(@"^invalid appsecret rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$");
        (await sandbox.GetAsync($"cgi-bin/token?grant_type=client_credential&appid=wx0000000000000000&secret=x")).ShouldBeError(40013);
        (await sandbox.GetAsync($"cgi-bin/token?grant_type=password&appid={Oa}&secret=x")).ShouldBeError(40002);
        (await sandbox.GetAsync($"cgi-bin/token?grant_type=client_credential&secret=x")).ShouldBeError(41002);
        (await sandbox.GetAsync($"cgi-bin/token?grant_type=client_credential&appid={Oa}")).ShouldBeError(41004);
        (await UserGet(sandbox, "")).ShouldBeError(41001);
        (await UserGet(sandbox, "not-a-token")).ShouldBeError(40001);
    }

    [Fact]
    public async Task Daily_token_quota_gives_45009_until_the_next_day()
    {
        await using var sandbox = await TestSandbox.StartAsync(o => o.Limits.OfficialAccountTokenPerDay = 3);
        for (var i = 0; i < 3; i++)
        {
            await sandbox.AppTokenAsync(Oa);
        }
        (await sandbox.GetAsync($"cgi-bin/token?grant_type=client_credential&appid={Oa}&secret={DemoWorld.SecretOf(Oa)}")).ShouldBeError(45009);
        await sandbox.AdvanceAsync(86_400);
        (await sandbox.AppTokenAsync(Oa)).Should().NotBeEmpty();
    }

    private static Task<System.Text.Json.JsonElement> Stable(TestSandbox sandbox, bool force = false, string appid = Oa) =>
        sandbox.PostAsync("cgi-bin/stable_token", new { grant_type = "client_credential", appid, secret = DemoWorld.SecretOf(appid), force_refresh = force });

    [Fact]
    public async Task Stable_token_repeats_then_rotates_in_the_last_300_seconds_keeping_the_old_one()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var first = await Stable(sandbox);
        (await Stable(sandbox)).Str("access_token").Should().Be(first.Str("access_token"));
        await sandbox.AdvanceAsync(6800);
        var stillSame = await Stable(sandbox);
        stillSame.Str("access_token").Should().Be(first.Str("access_token"));
        stillSame.GetProperty("expires_in").GetInt32().Should().BeInRange(395, 400);

        await sandbox.AdvanceAsync(150); // 250 s left: rotate
        var rotated = await Stable(sandbox);
        rotated.Str("access_token").Should().NotBe(first.Str("access_token"));
        rotated.GetProperty("expires_in").GetInt32().Should().BeGreaterThanOrEqualTo(300);
        (await UserGet(sandbox, first.Str("access_token"))).ShouldSucceed();
        await sandbox.AdvanceAsync(260);
        (await UserGet(sandbox, first.Str("access_token"))).ShouldBeError(42001);
        (await UserGet(sandbox, rotated.Str("access_token"))).ShouldSucceed();
    }

    [Fact]
    public async Task Stable_force_refresh_kills_the_previous_token_is_debounced_30_seconds_and_capped_at_20_a_day()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        // Daily quotas reset at midnight China time; start just after one so the 20 forced calls share one day.
        var china = sandbox.Running.Clock.GetUtcNow().ToOffset(TimeSpan.FromHours(8));
        await sandbox.AdvanceAsync((china.Date.AddDays(1).AddMinutes(1) - china.DateTime).TotalSeconds);
        var normal = (await Stable(sandbox)).Str("access_token");
        var forced = (await Stable(sandbox, force: true)).Str("access_token");
        forced.Should().NotBe(normal);
        (await UserGet(sandbox, normal)).ShouldBeError(40001);
        (await Stable(sandbox, force: true)).Str("access_token").Should().Be(forced, "a second forced call within 30 s does not refresh");

        for (var i = 2; i <= 20; i++)
        {
            await sandbox.AdvanceAsync(31);
            (await Stable(sandbox, force: true)).TryGetProperty("access_token", out _).Should().BeTrue($"forced refresh {i} of 20 is allowed");
        }
        await sandbox.AdvanceAsync(31);
        (await Stable(sandbox, force: true)).ShouldBeError(45009);
    }

    [Fact]
    public async Task Stable_token_and_token_do_not_affect_each_other()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var plain = await sandbox.AppTokenAsync(Oa);
        var stable = (await Stable(sandbox, force: true)).Str("access_token");
        await sandbox.AppTokenAsync(Oa);
        (await UserGet(sandbox, plain)).ShouldSucceed();
        (await UserGet(sandbox, stable)).ShouldSucceed();
        (await sandbox.GetAsync("cgi-bin/stable_token")).ShouldBeError(43002);
        (await sandbox.PostAsync("cgi-bin/stable_token", "{not json")).ShouldBeError(47001);
    }

    [Fact]
    public async Task Four_hundred_concurrent_callers_of_four_apps_get_one_stable_token_per_app()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        string[] apps = [DemoWorld.OfficialAccount, DemoWorld.MiniProgram, DemoWorld.Website, DemoWorld.MobileApp];
        var calls = apps.SelectMany(app => Enumerable.Range(0, 100).Select(async _ => (app, token: (await Stable(sandbox, appid: app)).Str("access_token"))));
        var results = await Task.WhenAll(calls);
        results.GroupBy(r => r.app).Should().HaveCount(4).And.OnlyContain(g => g.Select(r => r.token).Distinct().Count() == 1);

        var plain = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => sandbox.AppTokenAsync(apps[i % 4])));
        plain.Distinct().Should().HaveCount(400, "cgi-bin/token issues a new token on every call");
    }

    [Fact]
    public async Task WeCom_gettoken_is_idempotent_and_errors_carry_the_hint_suffix()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var ok = await sandbox.GetAsync($"qyapi/cgi-bin/gettoken?corpid={DemoWorld.Corp}&corpsecret=secret-crm");
        ok.GetProperty("errcode").GetInt32().Should().Be(0);
        ok.Str("errmsg").Should().Be("ok");
        (await sandbox.WeComTokenAsync("secret-crm")).Should().Be(ok.Str("access_token"));
        (await sandbox.WeComTokenAsync("secret-isv-crm")).Should().NotBe(ok.Str("access_token"), "each app has its own token");
        await sandbox.AdvanceAsync(7201);
        (await sandbox.WeComTokenAsync("secret-crm")).Should().NotBe(ok.Str("access_token"));

        var bad = await sandbox.GetAsync($"qyapi/cgi-bin/gettoken?corpid={DemoWorld.Corp}&corpsecret=wrong");
        bad.ShouldBeError(40001);
        bad.Str("errmsg").Should().MatchRegex(@"^invalid credential, hint: \[\d+\], from ip: [0-9.:a-f]+, more info at https://open\.work\.weixin\.qq\.com/devtool/query\?e=40001$");
        (await sandbox.GetAsync($"qyapi/cgi-bin/gettoken?corpid={DemoWorld.Corp}&corpsecret=secret-other-isv")).ShouldBeError(40091);
        (await sandbox.GetAsync("qyapi/cgi-bin/gettoken?corpid=wwnope&corpsecret=x")).ShouldBeError(40013);
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/list?access_token=bad&userid=zhangsan")).ShouldBeError(40014);
        Regex.IsMatch(ok.Str("access_token"), "^[A-Za-z0-9_-]+$").Should().BeTrue();
    }
}
