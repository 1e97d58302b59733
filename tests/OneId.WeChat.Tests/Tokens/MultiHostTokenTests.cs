using System.Text.Json.Nodes;
using FluentAssertions;
using OneId.Sandbox.World;
using OneId.Storage;
using OneId.Storage.Tokens;
using OneId.Testing;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Tests.Support;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Tokens;

/// <summary>
/// Issue 4's token test: four token services in separate hosts (own DI container, HttpClients, memory cache and database
/// connection pool) over one PostgreSQL, 100 concurrent callers each, against the sandbox. The sandbox's call log must
/// show one token fetch per app per lifetime, and no caller may ever see 40001.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class MultiHostTokenTests(PostgresFixture postgres) : IAsyncLifetime
{
    private const int Hosts = 4;
    private static readonly OneId.Storage.Secrets.DataProtector DataKey = new(Enumerable.Repeat((byte)42, 32).ToArray());
    private const int CallersPerHost = 100;
    private static readonly AppId Oa = AppId.Parse(DemoWorld.OfficialAccount);
    private static readonly AppId Oa2 = AppId.Parse(DemoWorld.AuthorizerOfficialAccount);
    private static readonly TokenKey WeCom = TokenKey.WeCom(CorpId.Parse(DemoWorld.Corp), DemoWorld.SelfBuiltApp);

    private readonly SandboxWeChat _wx = new();
    private readonly List<StoreDatabase> _databases = [];
    private readonly List<WeChatTestHost> _hosts = [];

    public async Task InitializeAsync()
    {
        await _wx.InitializeAsync();
        var connectionString = await postgres.Cluster.CreateDatabaseAsync();
        for (var i = 0; i < Hosts; i++)
        {
            var db = StoreDatabase.Open(connectionString);
            _databases.Add(db);
            _hosts.Add(_wx.NewHost(await SqlTokenStore.OpenAsync(db, DataKey, default)));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            host.Dispose();
        }
        foreach (var db in _databases)
        {
            await db.DisposeAsync();
        }
        await _wx.DisposeAsync();
    }

    [Fact]
    public async Task Four_hosts_over_one_postgres_fetch_each_token_once_per_lifetime_and_never_see_40001()
    {
        var user = await _wx.NewUserAsync();
        var follower1 = OpenId.Parse((await _wx.ControlAsync($"_sandbox/users/{user}/follow", new JsonObject { ["appid"] = Oa.Value }))["openid"]!.GetValue<string>());
        var follower2 = OpenId.Parse((await _wx.ControlAsync($"_sandbox/users/{user}/follow", new JsonObject { ["appid"] = Oa2.Value }))["openid"]!.GetValue<string>());
        await _wx.ControlAsync($"_sandbox/users/{user}/wecom-add", new JsonObject { ["corpid"] = DemoWorld.Corp, ["userid"] = "zhangsan" });

        async Task RoundAsync()
        {
            var callers = _hosts.SelectMany(host => Enumerable.Range(0, CallersPerHost).Select(async i =>
            {
                switch (i % 3)
                {
                    case 0:
                        (await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), follower1)).Subscribe.Should().BeTrue();
                        break;
                    case 1:
                        (await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa2), follower2)).Subscribe.Should().BeTrue();
                        break;
                    default:
                        (await host.Get<WeComClient>().ListExternalContactsAsync(WeCom, "zhangsan")).Should().NotBeEmpty();
                        break;
                }
            }));
            // Any WeChatApiException (40001 included) fails the test here.
            await Task.WhenAll(callers);
        }

        var businessCalls = Hosts * CallersPerHost;

        await RoundAsync();
        (await _wx.CallsAsync("/cgi-bin/stable_token")).Should().Be(2, "one stable_token per OA for 400 callers in 4 hosts");
        (await _wx.CallsAsync("/qyapi/cgi-bin/gettoken")).Should().Be(1);

        // Into the tokens' last 4 minutes: each is refreshed once, by one host, while the others keep using the old one.
        _wx.Sandbox.Clock.Advance(TimeSpan.FromSeconds(7200 - 200));
        await RoundAsync();
        (await _wx.CallsAsync("/cgi-bin/stable_token")).Should().Be(4);

        // Past the WeCom token's expiry (gettoken returns the same token until then): one new fetch.
        _wx.Sandbox.Clock.Advance(TimeSpan.FromSeconds(300));
        await RoundAsync();
        (await _wx.CallsAsync("/cgi-bin/stable_token")).Should().Be(4, "the rotated stable tokens are still young");
        (await _wx.CallsAsync("/qyapi/cgi-bin/gettoken")).Should().BeInRange(2, 3);

        // No business call was ever refused and retried: exactly one call per caller.
        var userInfo = await _wx.CallsAsync("/cgi-bin/user/info");
        var list = await _wx.CallsAsync("/qyapi/cgi-bin/externalcontact/list");
        (userInfo + list).Should().Be(3 * businessCalls);
        var latest = (await _wx.GetAsync("_sandbox/calls"))["latest"]!.AsArray();
        latest.Should().NotContain(c => c!["errcode"]!.GetValue<int>() == 40001 || c["errcode"]!.GetValue<int>() == 40014 || c["errcode"]!.GetValue<int>() == 42001);
    }

    [Fact]
    public async Task Separate_oneid_processes_sharing_the_database_fetch_the_token_once()
    {
        var connectionString = await postgres.Cluster.CreateDatabaseAsync();
        var appid = DemoWorld.MiniGame;

        // Each process decrypts the others' token with the data key they share (the hubs' data_key).
        var environment = new Dictionary<string, string> { ["ONEID_DATA_KEY"] = Convert.ToBase64String(Enumerable.Repeat((byte)42, 32).ToArray()) };
        var runs = await Task.WhenAll(Enumerable.Range(0, Hosts).Select(_ => OneIdCli.RunWithEnvironmentAsync(environment,
            "wx", "token", "--appid", appid, "--secret", DemoWorld.SecretOf(appid), "--base-url", _wx.Sandbox.BaseAddress.ToString(), "--db", connectionString)));

        runs.Should().OnlyContain(r => r.ExitCode == 0, string.Join(" | ", runs.Select(r => r.StdErr)));
        runs.Select(r => r.StdOut.Trim()).Distinct().Should().ContainSingle();
        (await _wx.CallsAsync("/cgi-bin/stable_token")).Should().Be(1, "four processes, one lease, one fetch");
    }

    [Fact]
    public async Task A_token_killed_under_all_hosts_is_replaced_by_one_fetch_and_no_caller_sees_the_refusal()
    {
        var user = await _wx.NewUserAsync();
        var follower = OpenId.Parse((await _wx.ControlAsync($"_sandbox/users/{user}/follow", new JsonObject { ["appid"] = Oa.Value }))["openid"]!.GetValue<string>());
        Task RoundAsync() => Task.WhenAll(_hosts.SelectMany(host => Enumerable.Range(0, CallersPerHost).Select(async _ =>
            (await host.Get<OfficialAccountClient>().GetUserInfoAsync(TokenKey.App(Oa), follower)).Subscribe.Should().BeTrue())));
        await RoundAsync();
        var before = await _wx.CallsAsync("/cgi-bin/stable_token");

        // An operator's leak response elsewhere: force_refresh kills the token every host has cached (§1.2).
        using (var other = _wx.NewHost())
        {
            await other.Get<WeChatCredentialClient>().GetStableAccessTokenAsync(Oa, DemoWorld.SecretOf(Oa.Value), forceRefresh: true);
        }
        await RoundAsync();

        // One normal stable_token call (by the lease holder) replaced it; 399 other refused callers reused that token.
        (await _wx.CallsAsync("/cgi-bin/stable_token")).Should().Be(before + 2, "the operator's forced call plus exactly one refresh");
        (await _wx.CallsAsync("/cgi-bin/user/info")).Should().BeInRange(2 * Hosts * CallersPerHost + 1, 3 * Hosts * CallersPerHost,
            "each refused call was retried once");
    }
}
