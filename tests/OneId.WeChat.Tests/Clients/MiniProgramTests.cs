using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using OneId.Sandbox.World;
using OneId.WeChat.Clients;
using OneId.WeChat.Crypto;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Tests.Support;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Clients;

public sealed class MiniProgramTests(SandboxWeChat wx) : IClassFixture<SandboxWeChat>
{
    private static readonly AppId Mp = AppId.Parse(DemoWorld.MiniProgram);

    [Fact]
    public async Task Code2Session_gives_openid_session_key_and_unionid_and_codes_are_single_use()
    {
        using var host = wx.NewHost();
        var client = host.Get<MiniProgramClient>();
        var user = await wx.NewUserAsync();
        var code = await wx.CodeAsync(user, "login", new JsonObject { ["appid"] = Mp.Value });

        var session = await client.Code2SessionAsync(Mp, code);

        var truth = await wx.TruthAsync(user);
        session.OpenId.Value.Should().Be(truth["openids"]![Mp.Value]!.GetValue<string>());
        session.UnionId!.Value.Value.Should().Be(truth["unionids"]![DemoWorld.UnionSpace]!.GetValue<string>());
        Convert.FromBase64String(session.SessionKey).Should().HaveCount(16);
        session.ToString().Should().NotContain(session.SessionKey);
        var reuse = () => client.Code2SessionAsync(Mp, code);
        (await reuse.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(40163);
    }

    [Fact]
    public async Task An_unbound_mini_program_gets_no_unionid()
    {
        using var host = wx.NewHost();
        var user = await wx.NewUserAsync();
        var code = await wx.CodeAsync(user, "login", new JsonObject { ["appid"] = DemoWorld.UnboundMiniProgram });

        var session = await host.Get<MiniProgramClient>().Code2SessionAsync(AppId.Parse(DemoWorld.UnboundMiniProgram), code);

        session.UnionId.Should().BeNull();
    }

    [Fact]
    public async Task Open_data_decrypts_with_the_session_key_and_checks_watermark_and_signature()
    {
        using var host = wx.NewHost();
        var user = await wx.NewUserAsync();
        var session = await host.Get<MiniProgramClient>().Code2SessionAsync(Mp, await wx.CodeAsync(user, "login", new JsonObject { ["appid"] = Mp.Value }));
        var payload = await wx.ControlAsync($"_sandbox/users/{user}/userinfo", new JsonObject { ["appid"] = Mp.Value });

        MiniProgramOpenData.VerifySignature(payload["rawData"]!.GetValue<string>(), session.SessionKey, payload["signature"]!.GetValue<string>());
        var data = MiniProgramOpenData.Decrypt(session.SessionKey, payload["iv"]!.GetValue<string>(), payload["encryptedData"]!.GetValue<string>(), Mp.Value);

        using var json = JsonDocument.Parse(data.Json);
        json.RootElement.GetProperty("openId").GetString().Should().Be(session.OpenId.Value);
        json.RootElement.GetProperty("unionId").GetString().Should().Be(session.UnionId!.Value.Value);
        var otherApp = () => MiniProgramOpenData.Decrypt(session.SessionKey, payload["iv"]!.GetValue<string>(), payload["encryptedData"]!.GetValue<string>(), DemoWorld.MiniGame);
        otherApp.Should().Throw<WeChatCryptoException>().Which.Error.Should().Be(WeChatCryptoError.WatermarkMismatch);
    }

    [Fact]
    public async Task Paid_unionid_by_transaction_or_by_order_within_five_minutes()
    {
        using var host = wx.NewHost();
        var client = host.Get<MiniProgramClient>();
        var user = await wx.NewUserAsync();
        var truth = await wx.TruthAsync(user);
        var openId = OpenId.Parse(truth["openids"]![Mp.Value]!.GetValue<string>());
        var payment = await wx.ControlAsync($"_sandbox/users/{user}/pay", new JsonObject { ["appid"] = Mp.Value });

        var byTransaction = await client.GetPaidUnionIdAsync(TokenKey.App(Mp), openId, payment["transaction_id"]!.GetValue<string>());
        var byOrder = await client.GetPaidUnionIdAsync(TokenKey.App(Mp), openId, payment["mch_id"]!.GetValue<string>(), payment["out_trade_no"]!.GetValue<string>());

        byTransaction.UnionId.Value.Should().Be(truth["unionids"]![DemoWorld.UnionSpace]!.GetValue<string>());
        byOrder.Should().Be(byTransaction);
    }

    [Fact]
    public async Task Paid_unionid_is_refused_after_the_five_minute_window()
    {
        // Its own sandbox: the clock moves.
        var own = new SandboxWeChat();
        await own.InitializeAsync();
        try
        {
            using var host = own.NewHost();
            var user = await own.NewUserAsync();
            var openId = OpenId.Parse((await own.TruthAsync(user))["openids"]![Mp.Value]!.GetValue<string>());
            var payment = await own.ControlAsync($"_sandbox/users/{user}/pay", new JsonObject { ["appid"] = Mp.Value });
            own.Sandbox.Clock.Advance(TimeSpan.FromMinutes(6));

            var act = () => host.Get<MiniProgramClient>().GetPaidUnionIdAsync(TokenKey.App(Mp), openId, payment["transaction_id"]!.GetValue<string>());

            var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
            error.ErrCode.Should().Be(89300);
            error.IsTransient.Should().BeFalse();
        }
        finally
        {
            await own.DisposeAsync();
        }
    }

    [Fact]
    public async Task Paid_unionid_for_an_unknown_trade_is_refused()
    {
        using var host = wx.NewHost();
        var user = await wx.NewUserAsync();
        var openId = OpenId.Parse((await wx.TruthAsync(user))["openids"]![Mp.Value]!.GetValue<string>());

        var act = () => host.Get<MiniProgramClient>().GetPaidUnionIdAsync(TokenKey.App(Mp), openId, "4200000000000000000000000000");

        (await act.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().BeOneOf(89300, 40003);
    }

    [Fact]
    public async Task Phone_number_from_a_getPhoneNumber_code()
    {
        using var host = wx.NewHost();
        var client = host.Get<MiniProgramClient>();
        var user = await wx.NewUserAsync();
        var code = await wx.CodeAsync(user, "phone", new JsonObject { ["appid"] = Mp.Value, ["phone"] = "+8613912345678" });

        var phone = await client.GetPhoneNumberAsync(TokenKey.App(Mp), code);

        phone.PhoneInfo.PurePhoneNumber.Should().Be("13912345678");
        phone.PhoneInfo.CountryCode.Should().Be("86");
        phone.PhoneInfo.Watermark!.AppId.Should().Be(Mp.Value);
        var reuse = () => client.GetPhoneNumberAsync(TokenKey.App(Mp), code);
        (await reuse.Should().ThrowAsync<WeChatApiException>()).Which.IsInvalidCode.Should().BeTrue();
    }
}
