using System.Net;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Sandbox.Hosting;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class LimitsAndHostingTests
{
    [Fact]
    public async Task Minute_and_hourly_limits_answer_45011_and_45009()
    {
        await using var sandbox = await TestSandbox.StartAsync(o =>
        {
            o.Limits.StableTokenPerMinute = 2;
            o.Limits.SnsOAuthPerMinute = 1;
            o.Limits.IdConvertPerHour = 1;
            o.Limits.WeComGetTokenPerMinute = 2;
        });
        var oa = DemoWorld.OfficialAccount;
        object Stable() => new { grant_type = "client_credential", appid = oa, secret = DemoWorld.SecretOf(oa) };
        (await sandbox.PostAsync("cgi-bin/stable_token", Stable())).ShouldSucceed();
        (await sandbox.PostAsync("cgi-bin/stable_token", Stable())).ShouldSucceed();
        (await sandbox.PostAsync("cgi-bin/stable_token", Stable())).ShouldBeError(45011);

        (await sandbox.OAuthAsync(await sandbox.CodeAsync("bob", "authorize", new { appid = oa, scope = "snsapi_base" }))).ShouldSucceed();
        var second = await sandbox.CodeAsync("bob", "authorize", new { appid = oa, scope = "snsapi_base" });
        (await sandbox.OAuthAsync(second)).ShouldBeError(45011);

        await sandbox.WeComTokenAsync("secret-isv-crm");
        var isv = await sandbox.WeComTokenAsync("secret-isv-crm");
        (await sandbox.GetAsync($"qyapi/cgi-bin/gettoken?corpid={DemoWorld.Corp}&corpsecret=secret-isv-crm")).ShouldBeError(45009);
        var unionid = (await sandbox.TruthAsync("bob")).GetProperty("unionids").Str("acme");
        (await sandbox.PostAsync($"qyapi/cgi-bin/idconvert/unionid_to_external_userid?access_token={isv}", new { unionid, subject_type = 0 })).ShouldSucceed();
        (await sandbox.PostAsync($"qyapi/cgi-bin/idconvert/unionid_to_external_userid?access_token={isv}", new { unionid, subject_type = 0 })).ShouldBeError(45009);

        await sandbox.AdvanceAsync(3600);
        (await sandbox.PostAsync("cgi-bin/stable_token", Stable())).ShouldSucceed();
        (await sandbox.PostAsync($"qyapi/cgi-bin/idconvert/unionid_to_external_userid?access_token={isv}", new { unionid, subject_type = 0 })).ShouldSucceed();
    }

    [Fact]
    public async Task Sandbox_mounts_inside_another_app_under_a_prefix()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Services.AddOneIdSandbox(DemoWorld.Create());
        builder.Services.AddOneIdSandbox(TestWorlds.Create()); // a second call changes nothing
        await using var app = builder.Build();
        app.MapGet("/", () => "host app");
        app.MapOneIdSandbox("/wx");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address + "/") };

        (await http.GetStringAsync(new Uri("", UriKind.Relative))).Should().Be("host app");
        var token = await http.GetStringAsync(new Uri($"wx/cgi-bin/token?grant_type=client_credential&appid={DemoWorld.OfficialAccount}&secret={DemoWorld.SecretOf(DemoWorld.OfficialAccount)}", UriKind.Relative));
        token.Should().Contain("access_token");
        (await http.GetStringAsync(new Uri($"wx/qyapi/cgi-bin/gettoken?corpid={DemoWorld.Corp}&corpsecret=secret-crm", UriKind.Relative))).Should().Contain("\"errcode\":0");
        (await http.GetStringAsync(new Uri("wx/_sandbox/world", UriKind.Relative))).Should().Contain("\"corps\":[{\"corpid\":\"wwacme000000000001\"").And.NotContain("wwother");
        await app.StopAsync();
    }
}
