using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Graph;
using OneId.Sandbox.World;
using OneId.Server.Application;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.Storage.Hub;
using OneId.Testing;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;
using OneId.WeChat.Tokens;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>
/// The third-party platform modes (S7) end to end against the sandbox: the pushes of an OA the platform runs arrive at
/// the platform's message URL; a backfill of an app that has not authorized the platform is refused with a 4xx; and
/// declared subjects (主体) choose the subject_type of WeCom's unionid conversion, so a provider's own MP converts.
/// </summary>
public abstract class PlatformModesTests
{
    protected abstract Task<string> NewDatabaseAsync();

    private async Task<SandboxedHub> StartAsync(Action<HubOptions>? configure = null, Func<SandboxWorld, SandboxWorld>? world = null) =>
        await SandboxedHub.StartAsync(await NewDatabaseAsync(), 0, 0, o =>
        {
            o.BootstrapKey = TestHub.AdminKey;
            configure?.Invoke(o);
        }, LogLevel.Critical, CancellationToken.None, world);

    private static HubTenant Tenant(SandboxedHub hub) => hub.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!;

    private static HttpClient Admin(SandboxedHub hub)
    {
        var c = new HttpClient { BaseAddress = hub.HubAddress };
        c.DefaultRequestHeaders.Authorization = new("Bearer", TestHub.AdminKey);
        return c;
    }

    /// <summary>The platform's ticket arrives and the OA authorizes it; returns once the hub stored the authorizer_refresh_token.</summary>
    private static async Task AuthorizePlatformAsync(SandboxedHub hub, string appid)
    {
        await hub.Sandbox.CallAsync($"_sandbox/components/{Demo.Component}/ticket", new { });
        await hub.Sandbox.CallAsync($"_sandbox/components/{Demo.Component}/authorize", new { authorizer_appid = appid });
        var tokens = hub.Hub.Services.GetRequiredService<ITokenStore>();
        await Eventually.TrueAsync(async () => await tokens.GetAuthorizerRefreshTokenAsync(AppId.Parse(Demo.Component), AppId.Parse(appid), default) is not null,
            $"the hub processed {appid}'s authorized event");
    }

    [Fact]
    public async Task An_oa_run_by_a_platform_gets_its_follows_and_unfollows_through_the_platforms_message_url()
    {
        await using var hub = await StartAsync();
        await AuthorizePlatformAsync(hub, Demo.AuthorizerOfficialAccount);
        var name = "pm" + Guid.NewGuid().ToString("N")[..8];
        await hub.Sandbox.CallAsync("_sandbox/users", new { name });
        var follow = await hub.Sandbox.CallAsync($"_sandbox/users/{name}/follow", new { appid = Demo.AuthorizerOfficialAccount });
        var truth = await hub.Sandbox.CallAsync($"_sandbox/users/{name}");
        var openId = Identifier.Parse($"openid:{Demo.AuthorizerOfficialAccount}:{follow.GetProperty("openid").GetString()}");
        var unionId = Identifier.Parse($"unionid:{Demo.UnionSpace}:{truth.GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()}");

        // The follow went to …/component/{component}/{appid}; the OA flow asked user/info with the authorizer token.
        var person = await Eventually.ValueAsync(() => Tenant(hub).Graph.FindAsync(openId, default),
            p => p?.Identifiers.Contains(unionId) == true, "the platform-run OA's follower is in the graph with the unionid");
        person!.Identifiers.Should().Contain(openId);
        var pushes = await hub.Sandbox.CallAsync("_sandbox/pushes");
        pushes.EnumerateArray().Should().Contain(p => p.GetProperty("event").GetString() == "subscribe"
            && p.GetProperty("url").GetString()!.EndsWith($"/v1/callbacks/component/{Demo.Component}/{Demo.AuthorizerOfficialAccount}", StringComparison.Ordinal)
            && p.GetProperty("status").GetString() == "delivered");
        var calls = await new HttpClient { BaseAddress = hub.Sandbox.BaseAddress }.GetStringAsync("_sandbox/calls");
        calls.Should().Contain("/cgi-bin/user/info");

        await hub.Sandbox.CallAsync($"_sandbox/users/{name}/unfollow", new { appid = Demo.AuthorizerOfficialAccount });
        var done = await Eventually.ValueAsync(() => Tenant(hub).Inbox.ListAsync(InboxState.Done, 100, default),
            items => items.Any(i => i.Target == Demo.AuthorizerOfficialAccount && i.DedupeKey.EndsWith(":unsubscribe", StringComparison.Ordinal)),
            "the unfollow went through the hub's inbox as the OA's own push");
        done.Where(i => i.Target == Demo.AuthorizerOfficialAccount).Should().OnlyContain(i => i.Kind == nameof(PushKind.OfficialAccount));
        (await Tenant(hub).Inbox.StatsAsync(default)).Dead.Should().Be(0);
    }

    [Fact]
    public async Task A_push_for_an_app_the_tenant_does_not_run_through_that_platform_is_acknowledged_and_ignored()
    {
        await using var hub = await StartAsync();
        // The OA with its own secret is not run by the platform here: a (genuine) push for it at the platform's URL changes nothing.
        await hub.Sandbox.CallAsync($"_sandbox/components/{Demo.Component}/authorize", new { authorizer_appid = Demo.OfficialAccount });
        var name = "pm" + Guid.NewGuid().ToString("N")[..8];
        await hub.Sandbox.CallAsync("_sandbox/users", new { name });
        var follow = await hub.Sandbox.CallAsync($"_sandbox/users/{name}/follow", new { appid = Demo.OfficialAccount });
        await Eventually.TrueAsync(async () => (await hub.Sandbox.CallAsync("_sandbox/pushes")).EnumerateArray().Any(p => p.GetProperty("event").GetString() == "subscribe"
            && p.GetProperty("url").GetString()!.EndsWith($"/{Demo.Component}/{Demo.OfficialAccount}", StringComparison.Ordinal)
            && p.GetProperty("status").GetString() == "delivered"), "the sandbox delivered the push to the platform's message URL (answered 200)");
        (await Tenant(hub).Inbox.ListAsync(null, 100, default)).Should().NotContain(i => i.Target == Demo.OfficialAccount);
        (await Tenant(hub).Graph.FindAsync(Identifier.Parse($"openid:{Demo.OfficialAccount}:{follow.GetProperty("openid").GetString()}"), default)).Should().BeNull();

        // A forged push at the platform's URL is refused: the signature is the platform's.
        using var c = new HttpClient { BaseAddress = hub.HubAddress };
        var forged = await c.PostAsync($"v1/callbacks/component/{Demo.Component}/{Demo.AuthorizerOfficialAccount}?timestamp=1&nonce=2&msg_signature=bad&encrypt_type=aes",
            new StringContent("<xml><ToUserName>gh_x</ToUserName><Encrypt>AAAA</Encrypt></xml>"));
        forged.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await c.PostAsync($"v1/callbacks/component/wx9999999999999999/{Demo.AuthorizerOfficialAccount}?timestamp=1&nonce=2", new StringContent("<xml/>")))
            .StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_backfill_of_an_oa_that_has_not_authorized_its_platform_is_a_400_that_says_to_authorize_first()
    {
        await using var hub = await StartAsync();
        using var admin = Admin(hub);
        foreach (var response in new[]
        {
            await admin.PostAsync($"v1/oa/{Demo.AuthorizerOfficialAccount}/backfill", null),
            await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = Demo.AuthorizerOfficialAccount }),
        })
        {
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            problem.GetProperty("title").GetString().Should().Be("Platform not authorized");
            problem.GetProperty("detail").GetString().Should().Contain(Demo.Component).And.Contain("authorize the platform");
        }
        (await Tenant(hub).Jobs.ListJobsAsync(10, default)).Should().BeEmpty("nothing was queued");

        // Once authorized, the same backfill runs through the authorizer token.
        await AuthorizePlatformAsync(hub, Demo.AuthorizerOfficialAccount);
        var ok = await admin.PostAsync($"v1/oa/{Demo.AuthorizerOfficialAccount}/backfill", null);
        ok.StatusCode.Should().Be(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// The provider (ISV Ltd) has its own MP bound to its own Open Platform account. Its unionids are of the provider's
    /// subject, not the corp's (Acme Ltd): converting them needs subject_type 1; the sandbox answers 845003 to 0.
    /// </summary>
    [Fact]
    public async Task A_providers_own_mp_converts_with_subject_type_1_when_the_subjects_are_declared()
    {
        const string isvSpace = "isv";
        const string isvMp = "wxd0d0d0d0d0d0d001";
        await using var hub = await StartAsync(o =>
        {
            var t = o.Tenants[0];
            t.UnionSpaces.Add(isvSpace);
            t.Apps.Add(new AppOptions { AppId = isvMp, Type = Configuration.AppTypes.MiniProgram, Secret = Demo.SecretOf(isvMp), UnionSpace = isvSpace });
            t.Subjects.Add(new SubjectOptions { Name = Demo.Subject, UnionSpaces = [Demo.UnionSpace], Corps = [Demo.Corp] });
            t.Subjects.Add(new SubjectOptions { Name = "ISV Ltd", UnionSpaces = [isvSpace], Providers = ["isv1"] });
        }, w =>
        {
            w.UnionSpaces.Add(new UnionSpace { Id = isvSpace, Subject = "ISV Ltd" });
            w.Apps.Add(new SandboxApp { Appid = isvMp, Secret = Demo.SecretOf(isvMp), Type = Sandbox.World.AppTypes.MiniProgram, Subject = "ISV Ltd", UnionSpace = isvSpace });
            return w;
        });
        var name = "pm" + Guid.NewGuid().ToString("N")[..8];
        await hub.Sandbox.CallAsync("_sandbox/users", new { name });
        // A customer of the corp first: the provider app's push brings its ciphertext id.
        await hub.Sandbox.CallAsync($"_sandbox/users/{name}/wecom-add", new { corpid = Demo.Corp, userid = "zhangsan" });
        var truth = await hub.Sandbox.CallAsync($"_sandbox/users/{name}");
        var external = Identifier.Parse($"external_userid:{Demo.Corp}/isv1:{truth.GetProperty("external_userids").GetProperty(Demo.Corp + "/isv1").GetString()}");
        await Eventually.TrueAsync(async () => await Tenant(hub).Graph.FindAsync(external, default) is not null, "the provider app's contact push is in the graph");

        var code = (await hub.Sandbox.CallAsync($"_sandbox/users/{name}/login", new { appid = isvMp })).GetProperty("code").GetString();
        using var c = new HttpClient { BaseAddress = hub.HubAddress };
        var login = await (await c.PostAsJsonAsync($"v1/mp/{isvMp}/login", new { code })).Content.ReadFromJsonAsync<JsonElement>();
        var isvUnion = Identifier.Parse($"unionid:{isvSpace}:{login.GetProperty("unionid").GetString()}");

        // The follow-up converted the provider-subject unionid with subject_type 1 and found the customer: one person.
        var person = await Eventually.ValueAsync(() => Tenant(hub).Graph.FindAsync(isvUnion, default),
            p => p?.Identifiers.Contains(external) == true, "the provider's MP user is linked to the provider app's customer");
        person!.Identifiers.Should().Contain(Identifier.Parse($"openid:{isvMp}:{login.GetProperty("openid").GetString()}"));
    }

    [Fact]
    public void Subject_types_follow_the_declared_subjects()
    {
        var corp = new CorpOptions { CorpId = Demo.Corp, UnionSpace = "acme" };
        var provider = new CorpAppOptions { Name = "isv-crm", Kind = Configuration.CorpAppKinds.Provider, Provider = "isv1" };
        var acmeMp = new AppOptions { AppId = "wx0000000000000001", UnionSpace = "acme" };
        var isvMp = new AppOptions { AppId = "wx0000000000000002", UnionSpace = "isv" };
        var otherMp = new AppOptions { AppId = "wx0000000000000003", UnionSpace = "other" };
        var undeclared = new TenantOptions { UnionSpaces = ["acme", "isv", "other"], Apps = [acmeMp, isvMp, otherMp], Corps = [corp] };
        // Nothing declared: the corp shares only its bound space's subject (the rule before subjects existed).
        ProviderConversions.SubjectTypeFor(undeclared, corp, provider, "acme", acmeMp).Should().Be(UnionIdSubjectType.Corp);
        ProviderConversions.SubjectTypeFor(undeclared, corp, provider, "isv", isvMp).Should().BeNull();

        var declared = new TenantOptions
        {
            UnionSpaces = undeclared.UnionSpaces, Apps = undeclared.Apps, Corps = [corp],
            Subjects =
            [
                new SubjectOptions { Name = "Acme Ltd", UnionSpaces = ["acme"] },
                new SubjectOptions { Name = "ISV Ltd", UnionSpaces = ["isv"], Providers = ["isv1"] },
                // An app of the provider's subject bound to Acme's Open Platform account: its openid and unionid differ in subject.
                new SubjectOptions { Name = "Other Ltd", UnionSpaces = ["other"], Apps = [acmeMp.AppId] },
            ],
        };
        ProviderConversions.SubjectTypeFor(declared, corp, provider, "isv", isvMp).Should().Be(UnionIdSubjectType.Provider);
        ProviderConversions.SubjectTypeFor(declared, corp, provider, "acme", acmeMp).Should().BeNull("the openid's app is of another subject than the unionid");
        ProviderConversions.SubjectTypeFor(declared, corp, provider, "other", otherMp).Should().BeNull("neither the corp's nor the provider's subject");
        var corpDeclared = new TenantOptions
        {
            UnionSpaces = ["acme"], Apps = [acmeMp], Corps = [new CorpOptions { CorpId = Demo.Corp }],
            Subjects = [new SubjectOptions { Name = "Acme Ltd", UnionSpaces = ["acme"], Corps = [Demo.Corp] }],
        };
        ProviderConversions.SubjectTypeFor(corpDeclared, corpDeclared.Corps[0], provider, "acme", acmeMp).Should().Be(UnionIdSubjectType.Corp, "a corp with no bound space can still be declared");
    }

    [Fact]
    public async Task Invalid_subjects_stop_startup_naming_the_field_and_fix()
    {
        var act = () => TestHub.StartAsync(configure: o =>
        {
            o.Tenants[0].Subjects.Add(new SubjectOptions { Name = "Acme Ltd", UnionSpaces = ["nope"], Apps = ["wx9999999999999999"] });
            o.Tenants[0].Subjects.Add(new SubjectOptions { Name = "Acme Ltd", Corps = ["wwunknown0000001"], Providers = ["ghost"] });
            o.Tenants[0].Subjects.Add(new SubjectOptions { Name = "" });
        });
        var message = (await act.Should().ThrowAsync<Microsoft.Extensions.Options.OptionsValidationException>()).Which.Message;
        message.Should().Contain("tenants[0].subjects[0].union_spaces[0]: 'nope' is not in tenants[0].union_spaces");
        message.Should().Contain("tenants[0].subjects[0].apps[0]").And.Contain("tenants[0].subjects[1].corps[0]").And.Contain("tenants[0].subjects[1].providers[0]");
        message.Should().Contain("tenants[0].subjects[1].name: 'Acme Ltd' is declared twice");
        message.Should().Contain("tenants[0].subjects[2].name: missing");
    }
}

public sealed class SqlitePlatformModesTests : PlatformModesTests, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File($"pm-{Guid.NewGuid():N}.db"));

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresPlatformModesTests(PostgresFixture postgres) : PlatformModesTests
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}
