using System.Text.Json;
using FluentAssertions;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Tests.Support;
using OneId.Testing;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Tokens;

public sealed class AccessTokenServiceTests
{
    private static readonly AppId App = AppId.Parse("wx4f4bc4dec97d474b");
    private static readonly OpenId User = OpenId.Parse("oGZUI0egBJY1zhBYw2KhdUfwVJJE");

    /// <summary>A stable_token emulation: the same token until it is in its last 300 s, force_refresh rotates (§1.2).</summary>
    private sealed class StableTokens(ManualTimeProvider time)
    {
        private readonly Lock _gate = new();
        private int _generation;
        private DateTimeOffset _expires;

        public string Current { get; private set; } = "";

        public int Forced { get; private set; }

        public FakeResponse Respond(FakeRequest request)
        {
            using var body = JsonDocument.Parse(request.Body);
            var force = body.RootElement.TryGetProperty("force_refresh", out var f) && f.GetBoolean();
            lock (_gate)
            {
                var now = time.GetUtcNow();
                if (force)
                {
                    Forced++;
                }
                if (force || Current.Length == 0 || _expires - now < TimeSpan.FromSeconds(300))
                {
                    Current = $"TOKEN-{++_generation}";
                    _expires = now.AddSeconds(7200);
                }
                var expiresIn = (int)(_expires - now).TotalSeconds;
                return FakeResponse.Json($"{{\"access_token\":\"{Current}\",\"expires_in\":{expiresIn}}}");
            }
        }

        public void Revoke()
        {
            lock (_gate)
            {
                Current = $"TOKEN-{++_generation}";
                _expires = time.GetUtcNow().AddSeconds(7200);
            }
        }
    }

    private static (FakeWeChat Server, StableTokens Tokens, ManualTimeProvider Time) StableServer()
    {
        var time = new ManualTimeProvider();
        var tokens = new StableTokens(time);
        var server = new FakeWeChat().On("cgi-bin/stable_token", tokens.Respond);
        server.On("cgi-bin/user/info", r => r.Query["access_token"] == tokens.Current
            ? FakeResponse.Json($"{{\"subscribe\":1,\"openid\":\"{r.Query["openid"]}\",\"unionid\":\"ocMvos6NjeKLIBqg5Mr9QjxrP1FA\"}}")
            : FakeResponse.Error(40001, "invalid credential, access_token is invalid or not latest"));
        return (server, tokens, time);
    }

    private static void Configure(WeChatOptions o) => o.Apps.Add(new WeChatAppCredential { AppId = App.Value, Secret = "s3cret" });

    [Fact]
    public async Task Hundred_concurrent_callers_cause_one_fetch()
    {
        var (server, _, time) = StableServer();
        server.Latency = TimeSpan.FromMilliseconds(50);
        using var host = new WeChatTestHost(Configure, time: time, primary: server);

        var tokens = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => host.Tokens.GetTokenAsync(TokenKey.App(App)).AsTask()));

        tokens.Select(t => t.Value).Distinct().Should().ContainSingle().Which.Should().Be("TOKEN-1");
        server.CountOf("cgi-bin/stable_token").Should().Be(1);
        var request = JsonDocument.Parse(server.Calls.Single().Body).RootElement;
        request.GetProperty("grant_type").GetString().Should().Be("client_credential");
        request.GetProperty("appid").GetString().Should().Be(App.Value);
        request.GetProperty("force_refresh").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task Four_services_sharing_a_store_fetch_once()
    {
        var (server, _, time) = StableServer();
        server.Latency = TimeSpan.FromMilliseconds(30);
        var store = new InMemoryTokenStore();
        var hosts = Enumerable.Range(0, 4).Select(_ => new WeChatTestHost(Configure, store, time, server)).ToArray();
        try
        {
            var all = await Task.WhenAll(hosts.SelectMany(h => Enumerable.Range(0, 100).Select(_ => h.Tokens.GetTokenAsync(TokenKey.App(App)).AsTask())));

            all.Select(t => t.Value).Distinct().Should().ContainSingle();
            server.CountOf("cgi-bin/stable_token").Should().Be(1);
        }
        finally
        {
            foreach (var h in hosts)
            {
                h.Dispose();
            }
        }
    }

    [Fact]
    public async Task Four_services_sharing_one_sqlite_file_fetch_once()
    {
        var (server, _, time) = StableServer();
        server.Latency = TimeSpan.FromMilliseconds(30);
        using var folder = new OneId.Testing.TempFolder();
        var databases = Enumerable.Range(0, 4).Select(_ => OneId.Storage.StoreDatabase.Open(folder.File("oneid.db"))).ToArray();
        var hosts = databases.Select(db => new WeChatTestHost(Configure, new OneId.Storage.Tokens.SqlTokenStore(db, new OneId.Storage.Secrets.DataProtector(null)), time, server)).ToArray();
        try
        {
            var all = await Task.WhenAll(hosts.SelectMany(h => Enumerable.Range(0, 100).Select(_ => h.Tokens.GetTokenAsync(TokenKey.App(App)).AsTask())));

            all.Select(t => t.Value).Distinct().Should().ContainSingle();
            server.CountOf("cgi-bin/stable_token").Should().Be(1);
        }
        finally
        {
            foreach (var h in hosts)
            {
                h.Dispose();
            }
            foreach (var db in databases)
            {
                await db.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Refreshes_ahead_of_expiry_once_per_lifetime()
    {
        var (server, _, time) = StableServer();
        using var host = new WeChatTestHost(Configure, time: time, primary: server);

        var first = await host.Tokens.GetTokenAsync(TokenKey.App(App));
        time.Advance(TimeSpan.FromSeconds(7200 - 300)); // 5 min left: still used, the refresh window starts at 4 min
        (await host.Tokens.GetTokenAsync(TokenKey.App(App))).Value.Should().Be(first.Value);
        time.Advance(TimeSpan.FromSeconds(61)); // inside the last 4 minutes
        var second = await host.Tokens.GetTokenAsync(TokenKey.App(App));
        (await host.Tokens.GetTokenAsync(TokenKey.App(App))).Should().Be(second);

        second.Value.Should().NotBe(first.Value);
        server.CountOf("cgi-bin/stable_token").Should().Be(2);
    }

    [Fact]
    public async Task A_refused_token_is_refreshed_once_and_the_call_retried_once()
    {
        var (server, stable, time) = StableServer();
        using var host = new WeChatTestHost(Configure, time: time, primary: server);
        var client = host.Get<OfficialAccountClient>();
        await client.GetUserInfoAsync(TokenKey.App(App), User);
        stable.Revoke(); // someone force-refreshed elsewhere: our cached token is dead

        var users = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.GetUserInfoAsync(TokenKey.App(App), User)));

        users.Should().OnlyContain(u => u.Subscribe && u.OpenId == User);
        server.CountOf("cgi-bin/stable_token").Should().Be(2, "one fetch at start, one refresh for 50 refused callers");
        stable.Forced.Should().Be(0, "the normal call already returned a different token");
    }

    [Fact]
    public async Task Force_refresh_is_used_only_when_the_normal_call_returns_the_refused_token_and_not_within_30_s()
    {
        var time = new ManualTimeProvider();
        var stable = new StableTokens(time);
        var refuse = true;
        var server = new FakeWeChat().On("cgi-bin/stable_token", stable.Respond)
            .On("cgi-bin/user/info", r => refuse && r.Query["access_token"] == "TOKEN-1"
                ? FakeResponse.Error(40001, "invalid credential")
                : FakeResponse.Json($"{{\"subscribe\":1,\"openid\":\"{r.Query["openid"]}\"}}"));
        using var host = new WeChatTestHost(Configure, time: time, primary: server);
        var client = host.Get<OfficialAccountClient>();

        var user = await client.GetUserInfoAsync(TokenKey.App(App), User);

        user.Subscribe.Should().BeTrue();
        stable.Forced.Should().Be(1);
        server.Calls.Where(c => c.Path == "cgi-bin/stable_token").Select(c => JsonDocument.Parse(c.Body).RootElement.GetProperty("force_refresh").GetBoolean())
            .Should().Equal(false, false, true);

        // The new token is refused too, within 30 s: no second force_refresh, the caller sees the error.
        refuse = false;
        server.On("cgi-bin/user/info", _ => FakeResponse.Error(40001, "invalid credential"));
        time.Advance(TimeSpan.FromSeconds(10));
        var act = () => client.GetUserInfoAsync(TokenKey.App(App), User);
        (await act.Should().ThrowAsync<WeChatApiException>()).Which.IsInvalidToken.Should().BeTrue();
        stable.Forced.Should().Be(1);
    }

    [Fact]
    public async Task A_token_WeChat_keeps_refusing_and_handing_back_causes_one_refetch_not_a_storm()
    {
        var time = new ManualTimeProvider();
        var server = new FakeWeChat()
            .On("cgi-bin/stable_token", "{\"access_token\":\"SAME\",\"expires_in\":7200}")
            .On("cgi-bin/user/info", _ => FakeResponse.Error(40001, "invalid credential"));
        using var host = new WeChatTestHost(o =>
        {
            Configure(o);
            o.Tokens.MaxForcedRefreshesPerDay = 0; // force_refresh budget used up
        }, time: time, primary: server);
        var client = host.Get<OfficialAccountClient>();

        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(async _ =>
        {
            try
            {
                await client.GetUserInfoAsync(TokenKey.App(App), User);
                return 0;
            }
            catch (WeChatApiException ex)
            {
                return ex.ErrCode ?? 0;
            }
        }));

        results.Should().OnlyContain(code => code == 40001, "the refusal surfaces after one retry");
        server.CountOf("cgi-bin/stable_token").Should().Be(2, "one fetch, then one refetch that handed the same token back");
        server.CountOf("cgi-bin/user/info").Should().Be(60);
    }

    [Fact]
    public async Task Waits_for_the_lease_holder_instead_of_fetching()
    {
        var (server, _, time) = StableServer();
        var store = new CountingTokenStore(new InMemoryTokenStore());
        using var host = new WeChatTestHost(Configure, store, time, server);
        var key = TokenKey.App(App);
        var foreign = await store.TryAcquireLeaseAsync(key.StoreKey, "other-process", time.GetUtcNow(), TimeSpan.FromSeconds(30), default);

        var waiting = host.Tokens.GetTokenAsync(key).AsTask();
        // A second read of the store means the caller found the lease taken and is polling for the holder's token.
        await Eventually.TrueAsync(() => store.Reads >= 2, "the caller polls the store while another process holds the lease");
        waiting.IsCompleted.Should().BeFalse();
        await store.SaveTokenAsync(foreign!, new StoredToken(key.StoreKey, "FROM-OTHER", time.GetUtcNow(), time.GetUtcNow().AddHours(2)), default);

        (await waiting).Value.Should().Be("FROM-OTHER");
        server.CountOf("cgi-bin/stable_token").Should().Be(0);
    }

    [Fact]
    public async Task Takes_over_an_expired_lease_of_a_crashed_process()
    {
        var (server, _, time) = StableServer();
        var store = new CountingTokenStore(new InMemoryTokenStore());
        using var host = new WeChatTestHost(Configure, store, time, server);
        var key = TokenKey.App(App);
        await store.TryAcquireLeaseAsync(key.StoreKey, "crashed", time.GetUtcNow(), TimeSpan.FromSeconds(30), default);

        var waiting = host.Tokens.GetTokenAsync(key).AsTask();
        await Eventually.TrueAsync(() => store.Reads >= 2, "the caller waits on the crashed process's lease");
        waiting.IsCompleted.Should().BeFalse("the lease has not expired yet");
        time.Advance(TimeSpan.FromSeconds(31));

        (await waiting).Value.Should().Be("TOKEN-1");
        server.CountOf("cgi-bin/stable_token").Should().Be(1);
    }

    [Fact]
    public async Task Classic_token_endpoint_when_configured()
    {
        var time = new ManualTimeProvider();
        var server = new FakeWeChat().On("cgi-bin/token", r =>
            r.Query["grant_type"] == "client_credential" && r.Query["appid"] == App.Value && r.Query["secret"] == "s3cret"
                ? FakeResponse.Json("{\"access_token\":\"CLASSIC\",\"expires_in\":7200}")
                : FakeResponse.Error(40125, "invalid appsecret"));
        using var host = new WeChatTestHost(o => o.Apps.Add(new WeChatAppCredential { AppId = App.Value, Secret = "s3cret", TokenEndpoint = AppTokenEndpoint.Token }), time: time, primary: server);

        (await host.Tokens.GetTokenAsync(TokenKey.App(App))).Value.Should().Be("CLASSIC");
    }

    [Fact]
    public async Task A_wrong_secret_is_a_permanent_error_and_releases_the_lease()
    {
        var time = new ManualTimeProvider();
        var server = new FakeWeChat().On("cgi-bin/stable_token", FakeResponse.Error(40125, "invalid appsecret").Body);
        var store = new InMemoryTokenStore();
        using var host = new WeChatTestHost(Configure, store, time, server);

        var act = () => host.Tokens.GetTokenAsync(TokenKey.App(App)).AsTask();

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().Be(40125);
        error.IsTransient.Should().BeFalse();
        error.Message.Should().Contain("AppSecret").And.NotContain("s3cret");
        (await store.TryAcquireLeaseAsync(TokenKey.App(App).StoreKey, "someone", time.GetUtcNow(), TimeSpan.FromSeconds(1), default)).Should().NotBeNull();
    }

    [Fact]
    public async Task An_unconfigured_app_says_how_to_fix_it()
    {
        using var host = new WeChatTestHost(_ => { }, primary: new FakeWeChat());

        var act = () => host.Tokens.GetTokenAsync(TokenKey.App(App)).AsTask();

        (await act.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*OneId:WeChat:Apps*");
    }

    [Fact]
    public async Task WeCom_tokens_are_per_corp_app()
    {
        var corp = CorpId.Parse("ww4asffe99e54c0f4c");
        var server = new FakeWeChat().On("qyapi/cgi-bin/gettoken", r =>
            FakeResponse.Json($"{{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"WC-{r.Query["corpsecret"]}\",\"expires_in\":7200}}"));
        using var host = new WeChatTestHost(o =>
        {
            o.WeComBaseAddress = new Uri("http://sandbox.test/qyapi");
            o.WeComApps.Add(new WeComAppCredential { CorpId = corp.Value, Agent = "contact", Secret = "c1" });
            o.WeComApps.Add(new WeComAppCredential { CorpId = corp.Value, Agent = "1000002", Secret = "c2" });
        }, primary: server);

        (await host.Tokens.GetTokenAsync(TokenKey.WeCom(corp, "contact"))).Value.Should().Be("WC-c1");
        (await host.Tokens.GetTokenAsync(TokenKey.WeCom(corp, "1000002"))).Value.Should().Be("WC-c2");
        server.Calls.Should().OnlyContain(c => c.Uri.AbsolutePath == "/qyapi/cgi-bin/gettoken");
    }

    [Fact]
    public void Token_and_credentials_never_show_in_ToString()
    {
        var token = new AccessToken("SECRET-TOKEN-VALUE", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddHours(2));

        token.ToString().Should().NotContain("SECRET-TOKEN-VALUE").And.Contain(token.Fingerprint);
        token.Fingerprint.Should().HaveLength(8);
        new WeChatAppCredential { AppId = App.Value, Secret = "s3cret" }.ToString().Should().NotContain("s3cret");
    }

    [Fact]
    public void Token_keys_round_trip_through_their_store_key()
    {
        var keys = new[]
        {
            TokenKey.App(App), TokenKey.Component(App), TokenKey.Authorizer(App, AppId.Parse("wx5823bf96d3bd56c7")),
            TokenKey.WeCom(CorpId.Parse("ww4asffe99e54c0f4c"), "contact"),
        };
        foreach (var key in keys)
        {
            TokenKey.Parse(key.StoreKey).Should().Be(key);
        }
        keys.Select(k => k.StoreKey).Should().OnlyHaveUniqueItems();
        var act = () => TokenKey.Parse("nonsense");
        act.Should().Throw<FormatException>();
    }
}
