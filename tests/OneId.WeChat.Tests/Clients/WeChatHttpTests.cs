using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using FluentAssertions;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Tests.Support;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Clients;

/// <summary>Protocol details the sandbox does not play: content types, HTTP failures, lenient JSON.</summary>
public sealed class WeChatHttpTests
{
    private static readonly AppId Mp = AppId.Parse("wxa0a0a0a0a0a0a002");

    private static WeChatTestHost Host(FakeWeChat server) => new(o =>
    {
        o.ApiBaseAddress = new Uri("http://wechat.test/");
        o.Apps.Add(new WeChatAppCredential { AppId = Mp.Value, Secret = "s" });
    }, primary: server);

    [Fact]
    public async Task Jscode2session_answering_text_plain_is_parsed_as_json()
    {
        var server = new FakeWeChat().On("sns/jscode2session", _ => new FakeResponse(200,
            "{\"openid\":\"oGZUI0egBJY1zhBYw2KhdUfwVJJE\",\"session_key\":\"tiihtNczf5v6AKRyjwEUhQ==\"}", "text/plain"));
        using var host = Host(server);

        var session = await host.Get<MiniProgramClient>().Code2SessionAsync(Mp, "code");

        session.OpenId.Value.Should().Be("oGZUI0egBJY1zhBYw2KhdUfwVJJE");
        session.UnionId.Should().BeNull();
        var call = server.Calls.Single();
        call.Query["js_code"].Should().Be("code");
        call.Query["grant_type"].Should().Be("authorization_code");
    }

    [Fact]
    public async Task Http_5xx_is_retried_and_4xx_is_not()
    {
        var attempts = 0;
        var server = new FakeWeChat().On("sns/jscode2session", _ => ++attempts < 3
            ? new FakeResponse(503, "busy", "text/plain")
            : FakeResponse.Json("{\"openid\":\"o1\",\"session_key\":\"tiihtNczf5v6AKRyjwEUhQ==\"}"));
        using var host = Host(server);

        (await host.Get<MiniProgramClient>().Code2SessionAsync(Mp, "c")).OpenId.Value.Should().Be("o1");
        attempts.Should().Be(3);

        server.On("sns/jscode2session", _ => new FakeResponse(404, "nope", "text/plain"));
        var act = () => host.Get<MiniProgramClient>().Code2SessionAsync(Mp, "c");
        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.HttpStatus.Should().Be(404);
        error.IsTransient.Should().BeFalse();
    }

    [Fact]
    public async Task Unreadable_answers_are_permanent_errors()
    {
        using var host = Host(new FakeWeChat().On("sns/jscode2session", _ => new FakeResponse(200, "<html>gateway</html>", "text/html")));

        var act = () => host.Get<MiniProgramClient>().Code2SessionAsync(Mp, "c");

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().BeNull();
        error.IsTransient.Should().BeFalse();
    }

    [Fact]
    public async Task Numeric_booleans_numeric_country_codes_and_string_errcodes()
    {
        var server = new FakeWeChat()
            .On("cgi-bin/stable_token", "{\"access_token\":\"T\",\"expires_in\":7200}")
            .On("wxa/business/getuserphonenumber", "{\"errcode\":0,\"errmsg\":\"ok\",\"phone_info\":{\"phoneNumber\":\"+8613800000000\",\"purePhoneNumber\":\"13800000000\",\"countryCode\":86,\"watermark\":{\"timestamp\":1637744274,\"appid\":\"wxa0a0a0a0a0a0a002\"}}}")
            .On("cgi-bin/user/info", "{\"subscribe\":0,\"openid\":\"o1\",\"unionid\":\"\",\"tagid_list\":[]}")
            .On("sns/oauth2/access_token", "{\"errcode\":\"40029\",\"errmsg\":\"invalid code\"}");
        using var host = Host(server);

        var phone = await host.Get<MiniProgramClient>().GetPhoneNumberAsync(TokenKey.App(Mp), "code", OpenId.Parse("o1"));
        var user = await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Mp), OpenId.Parse("o1"));
        var act = () => host.Get<WeChatOAuthClient>().ExchangeCodeAsync(Mp, "code");

        phone.PhoneInfo.CountryCode.Should().Be("86");
        server.Calls.Single(c => c.Path == "wxa/business/getuserphonenumber").Body.Should().Be("{\"code\":\"code\",\"openid\":\"o1\"}");
        server.Calls.Single(c => c.Path == "wxa/business/getuserphonenumber").Query["access_token"].Should().Be("T");
        user.Subscribe.Should().BeFalse();
        user.UnionId.Should().BeNull("an empty unionid means none");
        (await act.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(40029);
    }

    [Theory]
    [InlineData("[{\"errcode\":40029}]")]
    [InlineData("{\"openid\":\"o1\",\"session_key\":\"k\"} trailing")]
    [InlineData("{\"openid\":\"o1\",")]
    [InlineData("")]
    public async Task An_answer_that_is_not_one_JSON_object_is_unreadable(string body)
    {
        var server = new FakeWeChat().On("sns/jscode2session", body);
        using var host = Host(server);

        var act = () => host.Get<MiniProgramClient>().Code2SessionAsync(Mp, "code");

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().BeNull();
        error.IsTransient.Should().BeFalse();
        error.Message.Should().Contain("not the expected JSON");
    }

    [Theory]
    [InlineData("{\"errcode\":0,\"errcode\":40163,\"errmsg\":\"code been used\"}", 40163)]
    [InlineData("{\"nested\":{\"errcode\":40029},\"errcode\":\"40029\",\"errmsg\":\"invalid code\"}", 40029)]
    public async Task The_top_level_errcode_decides_and_the_last_of_a_repeated_one_counts(string body, int errCode)
    {
        var server = new FakeWeChat().On("sns/jscode2session", body);
        using var host = Host(server);

        var act = () => host.Get<MiniProgramClient>().Code2SessionAsync(Mp, "code");

        (await act.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(errCode);
    }

    [Fact]
    public async Task A_nested_errcode_or_a_zero_one_is_an_answer()
    {
        var server = new FakeWeChat().On("sns/jscode2session", "{\"errcode\":0,\"openid\":\"o1\",\"session_key\":\"k\",\"extra\":{\"errcode\":-1}}");
        using var host = Host(server);

        var session = await host.Get<MiniProgramClient>().Code2SessionAsync(Mp, "code");

        session.OpenId.Value.Should().Be("o1");
        server.Calls.Should().ContainSingle("a nested errcode -1 is not WeChat's busy answer, so nothing is retried");
    }

    [Fact]
    public async Task Secrets_and_codes_never_reach_the_logs()
    {
        var logs = new List<string>();
        var server = new FakeWeChat()
            .On("cgi-bin/stable_token", "{\"access_token\":\"TOKEN-XYZ\",\"expires_in\":7200}")
            .On("cgi-bin/user/info", _ => FakeResponse.Error(40003, "invalid openid"))
            .On("sns/jscode2session", _ => FakeResponse.Error(40163, "code been used"));
        using var host = new WeChatTestHost(o =>
        {
            o.ApiBaseAddress = new Uri("http://wechat.test/");
            o.Apps.Add(new WeChatAppCredential { AppId = Mp.Value, Secret = "SECRET-ABC" });
        }, primary: server, services: s => s.AddLogging(b => b.AddProvider(new ListLoggerProvider(logs)).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace)));

        await FluentActions.Awaiting(() => host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Mp), OpenId.Parse("o1"))).Should().ThrowAsync<WeChatApiException>();
        await FluentActions.Awaiting(() => host.Get<MiniProgramClient>().Code2SessionAsync(Mp, "CODE-123")).Should().ThrowAsync<WeChatApiException>();

        logs.Should().NotBeEmpty();
        logs.Should().NotContain(l => l.Contains("SECRET-ABC") || l.Contains("TOKEN-XYZ") || l.Contains("CODE-123"));
        logs.Should().Contain(l => l.Contains("40003"));
        logs.Should().Contain(l => l.Contains(SecretFingerprint.Of("TOKEN-XYZ")));
    }
}
