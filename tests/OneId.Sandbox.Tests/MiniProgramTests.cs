using System.Text.Json;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class MiniProgramTests
{
    private const string Mp = DemoWorld.MiniProgram;

    [Fact]
    public async Task Code2Session_returns_openid_session_key_and_unionid_and_the_code_works_once()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var truth = await sandbox.TruthAsync("alice");
        var code = await sandbox.CodeAsync("alice", "login", new { appid = Mp });

        using var raw = await sandbox.Http.GetAsync(new Uri($"sns/jscode2session?appid={Mp}&secret={DemoWorld.SecretOf(Mp)}&js_code={code}&grant_type=authorization_code", UriKind.Relative));
        raw.Content.Headers.ContentType!.MediaType.Should().Be("text/plain", "code2Session is reported to answer text/plain (§0.1)");
        var session = JsonDocument.Parse(await raw.Content.ReadAsStringAsync()).RootElement;
        session.TryGetProperty("errcode", out _).Should().BeFalse();
        session.Str("openid").Should().Be(truth.GetProperty("openids").Str(Mp));
        session.Str("unionid").Should().Be(truth.GetProperty("unionids").Str("acme"));
        var key = Convert.FromBase64String(session.Str("session_key"));
        key.Should().HaveCount(16);
        session.Str("session_key").Should().HaveLength(24);

        var reused = await sandbox.JsCode2SessionAsync(code);
        reused.ShouldBeError(40163);
        reused.Str("errmsg").Should().StartWith("code been used");
        (await sandbox.JsCode2SessionAsync("0unknowncode")).ShouldBeError(40029);
        (await sandbox.JsCode2SessionAsync(code, DemoWorld.UnboundMiniProgram)).ShouldBeError(40029);
    }

    [Fact]
    public async Task Js_code_expires_after_5_minutes_and_the_session_key_is_stable_within_a_day()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var late = await sandbox.CodeAsync("bob", "login", new { appid = Mp });
        var first = await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("bob", "login", new { appid = Mp }));
        await sandbox.AdvanceAsync(301);
        (await sandbox.JsCode2SessionAsync(late)).ShouldBeError(40029);
        var second = await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("bob", "login", new { appid = Mp }));
        second.Str("session_key").Should().Be(first.Str("session_key"));
        await sandbox.AdvanceAsync(86_400);
        var third = await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("bob", "login", new { appid = Mp }));
        third.Str("session_key").Should().NotBe(first.Str("session_key"), "the key rotates after a sandbox day");
    }

    [Fact]
    public async Task Unbound_mini_program_never_gets_a_unionid()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var session = await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("alice", "login", new { appid = DemoWorld.UnboundMiniProgram }), DemoWorld.UnboundMiniProgram);
        session.TryGetProperty("openid", out _).Should().BeTrue();
        session.TryGetProperty("unionid", out _).Should().BeFalse();
    }

    [Fact]
    public async Task Legacy_rule_gives_the_unionid_only_after_a_same_subject_follow()
    {
        await using var sandbox = await TestSandbox.StartAsync(unionidRule: UnionidRules.Legacy);
        var before = await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("bob", "login", new { appid = Mp }));
        before.TryGetProperty("unionid", out _).Should().BeFalse("bob has not followed or authorized a same-subject app");
        await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.OfficialAccount });
        var after = await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("bob", "login", new { appid = Mp }));
        after.Str("unionid").Should().Be((await sandbox.TruthAsync("bob")).GetProperty("unionids").Str("acme"));
    }

    [Fact]
    public async Task Code2Session_allows_100_calls_per_user_per_minute_then_45011()
    {
        await using var sandbox = await TestSandbox.StartAsync(o => o.Limits.Jscode2SessionPerUserPerMinute = 3);
        for (var i = 0; i < 3; i++)
        {
            (await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("bob", "login", new { appid = Mp }))).ShouldSucceed();
        }
        var code = await sandbox.CodeAsync("bob", "login", new { appid = Mp });
        (await sandbox.JsCode2SessionAsync(code)).ShouldBeError(45011);
        (await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("alice", "login", new { appid = Mp }))).ShouldSucceed();
        await sandbox.AdvanceAsync(60);
        (await sandbox.JsCode2SessionAsync(code)).ShouldSucceed(); // a rate-limited code is not spent
    }

    [Fact]
    public async Task Getpaidunionid_works_for_5_minutes_after_paying()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var token = await sandbox.AppTokenAsync(Mp);
        var openid = (await sandbox.TruthAsync("bob")).GetProperty("openids").Str(Mp);
        var payment = await sandbox.ControlAsync("users/bob/pay", new { appid = Mp });
        var byTransaction = await sandbox.GetAsync($"wxa/getpaidunionid?access_token={token}&openid={openid}&transaction_id={payment.Str("transaction_id")}");
        byTransaction.GetProperty("errcode").GetInt32().Should().Be(0);
        byTransaction.Str("unionid").Should().Be((await sandbox.TruthAsync("bob")).GetProperty("unionids").Str("acme"));
        var byTrade = await sandbox.GetAsync($"wxa/getpaidunionid?access_token={token}&openid={openid}&mch_id={payment.Str("mch_id")}&out_trade_no={payment.Str("out_trade_no")}");
        byTrade.Str("unionid").Should().Be(byTransaction.Str("unionid"));

        (await sandbox.GetAsync($"wxa/getpaidunionid?access_token={token}&openid={openid}&transaction_id=4200000000000")).ShouldBeError(89300);
        (await sandbox.GetAsync($"wxa/getpaidunionid?access_token={token}&openid=oNotAnOpenid0000000000000000&transaction_id={payment.Str("transaction_id")}")).ShouldBeError(40003);
        await sandbox.AdvanceAsync(301);
        (await sandbox.GetAsync($"wxa/getpaidunionid?access_token={token}&openid={openid}&transaction_id={payment.Str("transaction_id")}")).ShouldBeError(89300);

        var unbound = DemoWorld.UnboundMiniProgram;
        await sandbox.ControlAsync("users/bob/pay", new { appid = unbound });
        var unboundOpenid = (await sandbox.TruthAsync("bob")).GetProperty("openids").Str(unbound);
        (await sandbox.GetAsync($"wxa/getpaidunionid?access_token={await sandbox.AppTokenAsync(unbound)}&openid={unboundOpenid}&transaction_id=x")).ShouldBeError(89002);
    }

    [Fact]
    public async Task Phone_code_gives_phone_info_once()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var token = await sandbox.AppTokenAsync(Mp);
        var code = await sandbox.CodeAsync("alice", "phone", new { appid = Mp, phone = "+8613912345678" });
        var phone = await sandbox.PostAsync($"wxa/business/getuserphonenumber?access_token={token}", new { code });
        phone.GetProperty("errcode").GetInt32().Should().Be(0);
        var info = phone.GetProperty("phone_info");
        info.Str("phoneNumber").Should().Be("13912345678");
        info.Str("purePhoneNumber").Should().Be("13912345678");
        info.Str("countryCode").Should().Be("86");
        info.GetProperty("watermark").Str("appid").Should().Be(Mp);
        (await sandbox.PostAsync($"wxa/business/getuserphonenumber?access_token={token}", new { code })).ShouldBeError(40163);
        (await sandbox.PostAsync($"wxa/business/getuserphonenumber?access_token={token}", new { code = "nope" })).ShouldBeError(40029);
    }

    [Fact]
    public async Task Userinfo_payload_decrypts_with_the_latest_session_key_and_is_signed()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var session = await sandbox.JsCode2SessionAsync(await sandbox.CodeAsync("alice", "login", new { appid = Mp }));
        var payload = await sandbox.ControlAsync("users/alice/userinfo", new { appid = Mp });

        var plain = JsonDocument.Parse(CallbackOracle.DecryptOpenData(session.Str("session_key"), payload.Str("iv"), payload.Str("encryptedData"))).RootElement;
        plain.Str("openId").Should().Be(session.Str("openid"));
        plain.Str("unionId").Should().Be(session.Str("unionid"));
        plain.Str("nickName").Should().Be("微信用户", "getUserInfo is anonymous since 2021-04-13 (§4.5)");
        plain.GetProperty("watermark").Str("appid").Should().Be(Mp);
        payload.Str("signature").Should().Be(Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(
            System.Text.Encoding.UTF8.GetBytes(payload.Str("rawData") + session.Str("session_key")))));
        JsonDocument.Parse(payload.Str("rawData")).RootElement.Str("nickName").Should().Be("微信用户");

        using var noSession = await sandbox.Http.PostAsync(new Uri("_sandbox/users/bob/userinfo", UriKind.Relative),
            new StringContent($$"""{"appid":"{{Mp}}"}""", System.Text.Encoding.UTF8, "application/json"));
        ((int)noSession.StatusCode).Should().Be(409);
    }
}
