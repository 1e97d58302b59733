using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Sandbox.World;
using OneId.DemoWiring;
using OneId.Server.Tenants;
using OneId.Testing;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

public sealed class PlatformAndLegacyTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static async Task<JsonElement> PostAsync(Uri baseAddress, string path, object body)
    {
        using var c = new HttpClient { BaseAddress = baseAddress };
        var r = await c.PostAsJsonAsync(path, body);
        var text = await r.Content.ReadAsStringAsync();
        r.IsSuccessStatusCode.Should().BeTrue(text);
        return string.IsNullOrEmpty(text) ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task A_mini_program_run_by_a_third_party_platform_logs_in_through_component_jscode2session()
    {
        await using var running = await SandboxedHub.StartAsync(_folder.File("platform.db"), 0, 0, o =>
        {
            var mp = o.Tenants[0].Apps.Single(a => a.AppId == Demo.MiniProgram);
            mp.Secret = null;
            mp.ComponentAppId = Demo.Component;
        }, LogLevel.Critical, CancellationToken.None);
        var sandbox = running.Sandbox.BaseAddress;
        await PostAsync(sandbox, $"_sandbox/components/{Demo.Component}/ticket", new { });
        await PostAsync(sandbox, $"_sandbox/components/{Demo.Component}/authorize", new { authorizer_appid = Demo.MiniProgram });
        await PostAsync(sandbox, "_sandbox/users", new { name = "platformuser" });
        var truth = await new HttpClient { BaseAddress = sandbox }.GetFromJsonAsync<JsonElement>("_sandbox/users/platformuser");

        // The ticket and authorization pushes are asynchronous; the component and authorizer tokens need them.
        var tokens = running.Hub.Services.GetRequiredService<OneId.WeChat.Tokens.ITokenStore>();
        await Eventually.TrueAsync(async () => await tokens.GetAuthorizerRefreshTokenAsync(
            OneId.WeChat.Ids.AppId.Parse(Demo.Component), OneId.WeChat.Ids.AppId.Parse(Demo.MiniProgram), default) is not null, "the hub processed the authorized event");
        var code = (await PostAsync(sandbox, "_sandbox/users/platformuser/login", new { appid = Demo.MiniProgram })).GetProperty("code").GetString();
        using var hub = new HttpClient { BaseAddress = running.HubAddress };
        var login = await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code });
        login.StatusCode.Should().Be(HttpStatusCode.OK, await login.Content.ReadAsStringAsync());
        var json = await login.Content.ReadFromJsonAsync<JsonElement>();
        json.GetProperty("openid").GetString().Should().Be(truth.GetProperty("openids").GetProperty(Demo.MiniProgram).GetString());
        json.GetProperty("unionid").GetString().Should().Be(truth.GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString());
        var calls = await new HttpClient { BaseAddress = sandbox }.GetStringAsync("_sandbox/calls");
        calls.Should().Contain("/sns/component/jscode2session");
    }

    [Fact]
    public async Task Under_the_legacy_unionid_rule_the_mp_person_merges_once_a_follow_brings_the_unionid()
    {
        await using var running = await SandboxedHub.StartAsync(_folder.File("legacy.db"), 0, 0, null, LogLevel.Critical, CancellationToken.None,
            w => new SandboxWorld { UnionSpaces = w.UnionSpaces, Apps = w.Apps, Corps = w.Corps, Components = w.Components, Users = w.Users, UnionidRule = UnionidRules.Legacy });
        var sandbox = running.Sandbox.BaseAddress;
        await PostAsync(sandbox, "_sandbox/users", new { name = "oldtimer" });
        using var hub = new HttpClient { BaseAddress = running.HubAddress };

        async Task<JsonElement> LoginAsync()
        {
            var code = (await PostAsync(sandbox, "_sandbox/users/oldtimer/login", new { appid = Demo.MiniProgram })).GetProperty("code").GetString();
            var r = await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code });
            r.StatusCode.Should().Be(HttpStatusCode.OK);
            return await r.Content.ReadFromJsonAsync<JsonElement>();
        }

        var first = await LoginAsync();
        first.GetProperty("unionid").ValueKind.Should().Be(JsonValueKind.Null, "before 2021 an MP got no unionid until a same-subject follow or authorization");
        await PostAsync(sandbox, "_sandbox/users/oldtimer/follow", new { appid = Demo.OfficialAccount });
        var graph = running.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!.Graph;
        var truth = await new HttpClient { BaseAddress = sandbox }.GetFromJsonAsync<JsonElement>("_sandbox/users/oldtimer");
        var oaOpenId = Identifier.Parse($"openid:{Demo.OfficialAccount}:{truth.GetProperty("openids").GetProperty(Demo.OfficialAccount).GetString()}");
        await Eventually.TrueAsync(async () => (await graph.FindAsync(oaOpenId, default))?.Identifiers.Any(x => x.Type == IdentifierType.UnionId) == true,
            "the follow brought the OA openid's unionid");
        var second = await LoginAsync();
        second.GetProperty("unionid").GetString().Should().NotBeNullOrEmpty();
        var person = await graph.FindAsync(oaOpenId, default);
        person!.Id.ToString().Should().Be(first.GetProperty("person_id").GetString(), "the MP person is older and survives the merge");
        person.Identifiers.Select(x => x.Type).Should().Contain([IdentifierType.UnionId, IdentifierType.OpenId]);
        person.Identifiers.Count(x => x.Type == IdentifierType.OpenId).Should().Be(2);
    }
}
