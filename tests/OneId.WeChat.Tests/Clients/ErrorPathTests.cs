using System.Text.Json.Nodes;
using FluentAssertions;
using OneId.Sandbox.World;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Tests.Support;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Clients;

/// <summary>Faults played by the sandbox: each test has its own sandbox, since faults are per path.</summary>
public sealed class ErrorPathTests : IAsyncLifetime
{
    private static readonly AppId Oa = AppId.Parse(DemoWorld.OfficialAccount);
    private readonly SandboxWeChat _wx = new();
    private OpenId _follower;

    public async Task InitializeAsync()
    {
        await _wx.InitializeAsync();
        var user = await _wx.NewUserAsync();
        _follower = OpenId.Parse((await _wx.ControlAsync($"_sandbox/users/{user}/follow", new JsonObject { ["appid"] = Oa.Value }))["openid"]!.GetValue<string>());
    }

    public Task DisposeAsync() => _wx.DisposeAsync();

    [Fact]
    public async Task System_error_is_retried_with_backoff_until_it_clears()
    {
        using var host = _wx.NewHost();
        _wx.Fault("/cgi-bin/user/info", -1, times: 2);

        var info = await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), _follower);

        info.Subscribe.Should().BeTrue();
        (await _wx.CallsAsync("/cgi-bin/user/info")).Should().Be(3);
    }

    [Fact]
    public async Task A_persistent_system_error_surfaces_as_transient_after_the_retries()
    {
        using var host = _wx.NewHost(more: o => o.Retry.MaxRetryAttempts = 2);
        _wx.Fault("/cgi-bin/user/info", -1, times: 10);

        var act = () => host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), _follower);

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().Be(-1);
        error.IsTransient.Should().BeTrue();
        (await _wx.CallsAsync("/cgi-bin/user/info")).Should().Be(3);
    }

    [Theory]
    [InlineData(45009, false)]
    [InlineData(45011, true)]
    [InlineData(48001, false)]
    public async Task Quota_and_permission_errors_are_not_retried(int errcode, bool transient)
    {
        using var host = _wx.NewHost();
        _wx.Fault("/cgi-bin/user/info", errcode, times: 1);

        var act = () => host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), _follower);

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().Be(errcode);
        error.IsTransient.Should().Be(transient);
        error.ErrMsg.Should().Contain("rid:", "the sandbox appends WeChat's rid suffix, which the client keeps but never matches");
        (await _wx.CallsAsync("/cgi-bin/user/info")).Should().Be(1);
    }

    [Fact]
    public async Task A_slow_answer_times_out_per_attempt_and_is_transient()
    {
        using var host = _wx.NewHost(more: o =>
        {
            o.Retry.MaxRetryAttempts = 1;
            o.Retry.AttemptTimeout = TimeSpan.FromMilliseconds(300);
        });
        await host.Tokens.GetTokenAsync(TokenKey.App(Oa));
        // The fault only delays: the answer would be a success after 3 s, so a timeout error can only come from the
        // per-attempt limit (no wall-clock bound needed, which would flake on busy cores).
        _wx.Fault("/cgi-bin/user/info", null, times: 5, delayMs: 3000);

        var act = () => host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), _follower);

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.IsTransient.Should().BeTrue();
        error.ErrCode.Should().BeNull();
        error.Message.Should().Contain("timed out");
    }

    [Fact]
    public async Task A_refused_token_is_refreshed_once_and_the_call_retried_once()
    {
        using var host = _wx.NewHost();
        var client = host.Get<OfficialAccountClient>();
        var before = await host.Tokens.GetTokenAsync(TokenKey.App(Oa));
        _wx.Fault("/cgi-bin/user/info", 40001, times: 1);

        var info = await client.GetUserInfoAsync(TokenKey.App(Oa), _follower);

        info.Subscribe.Should().BeTrue();
        (await _wx.CallsAsync("/cgi-bin/user/info")).Should().Be(2);
        // The sandbox still considered the token valid, so the normal call returned it again and one force_refresh followed.
        (await host.Tokens.GetTokenAsync(TokenKey.App(Oa))).Value.Should().NotBe(before.Value);
        (await _wx.CallsAsync("/cgi-bin/stable_token")).Should().Be(3);
    }

    [Fact]
    public async Task A_token_refused_again_after_the_refresh_is_not_retried_a_second_time()
    {
        using var host = _wx.NewHost();
        _wx.Fault("/cgi-bin/user/info", 42001, times: 100);

        var act = () => host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), _follower);

        (await act.Should().ThrowAsync<WeChatApiException>()).Which.IsInvalidToken.Should().BeTrue();
        (await _wx.CallsAsync("/cgi-bin/user/info")).Should().Be(2);
    }

    [Fact]
    public async Task A_wrong_app_secret_is_permanent_and_never_echoed()
    {
        using var host = _wx.NewHost(more: o =>
        {
            o.Apps.Clear();
            o.Apps.Add(new WeChatAppCredential { AppId = Oa.Value, Secret = "definitely-wrong" });
        });

        var act = () => host.Tokens.GetTokenAsync(TokenKey.App(Oa)).AsTask();

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().BeOneOf(40125, 40001);
        error.IsTransient.Should().BeFalse();
        error.Message.Should().NotContain("definitely-wrong");
    }
}
