using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Testing;
using OneId.WeChat.Crypto;
using Xunit;

namespace OneId.Server.Tests;

/// <summary>
/// Callbacks (timestamp window, nonce replays, message modes, any bytes) and API keys (tiers granted, list, revoke) on
/// each store, with two hub instances sharing one database where that matters.
/// </summary>
public abstract class HardeningContract : IAsyncLifetime
{
    private const string SafeOa = "wx4444444444444444";
    private const string CompatibleOa = "wx5555555555555555";
    private const string AesKey = "HardeningAesKeyHardeningAesKeyHardening0123";
    private const string Token = "oatoken";
    private TestHub _a = null!;
    private TestHub _b = null!;

    protected abstract Task<string> NewDatabaseAsync();

    public async Task InitializeAsync()
    {
        var db = await NewDatabaseAsync();
        static void Configure(HubOptions o)
        {
            // TestHub configures tenants acme and beta; acme gains an OA in safe mode and one in compatible mode.
            o.Tenants[0].Apps.Add(new AppOptions { AppId = SafeOa, Type = AppTypes.OfficialAccount, Secret = "s", UnionSpace = "acme", Token = Token, AesKey = AesKey });
            o.Tenants[0].Apps.Add(new AppOptions { AppId = CompatibleOa, Type = AppTypes.OfficialAccount, Secret = "s", UnionSpace = "acme", Token = Token, AesKey = AesKey, MessageMode = MessageModes.Compatible });
        }
        _a = await TestHub.StartAsync(db, Configure);
        _b = await TestHub.StartAsync(db, Configure);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static string Now(int offsetSeconds = 0) => (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + offsetSeconds).ToString(CultureInfo.InvariantCulture);

    private static string NewNonce() => Guid.NewGuid().ToString("N")[..12];

    private static string Unsubscribe(string openid) =>
        $"<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1700000000</CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event></xml>";

    private static string OpenId(string who) => "o" + who.PadRight(27, 'z');

    private static string Plain(string appid, string timestamp, string nonce) =>
        $"v1/callbacks/oa/{appid}?signature={WeChatSignature.ComputeCallback(Token, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}";

    private static (string Path, string Body) Encrypted(string appid, string xml, string timestamp, string nonce)
    {
        var sealedMsg = new WeChatMessageCrypto(Token, AesKey, appid).Encrypt(xml, timestamp, nonce);
        return ($"{Plain(appid, timestamp, nonce)}&encrypt_type=aes&msg_signature={sealedMsg.MsgSignature}", WeChatMessageCrypto.BuildEncryptedBody("gh_0123456789ab", sealedMsg.Encrypt));
    }

    private static StringContent Xml(string body) => new(body, Encoding.UTF8, "text/xml");

    // Accepted pushes are processed by the inbox worker (of either instance); wait until both inboxes are empty.
    private async Task DrainedAsync()
    {
        foreach (var hub in new[] { _a, _b })
        {
            var tenant = hub.App.Services.GetRequiredService<OneId.Server.Tenants.TenantRegistry>().Get("acme")!;
            await Eventually.TrueAsync(async () => (await tenant.Inbox.StatsAsync(default)).Pending == 0, "the inbox has processed every push");
        }
    }

    // An unsubscribe is a follow state, not an observation (it creates no person): it was processed when the openid's
    // follow relationship says so.
    private async Task<bool> KnownAsync(string appid, string openid) =>
        (await Tenant(_a).Relationships.GetAsync([Identifier.Parse($"openid:{appid}:{openid}")], default)).Follows.Count == 1;

    private static OneId.Server.Tenants.HubTenant Tenant(TestHub hub) =>
        hub.App.Services.GetRequiredService<OneId.Server.Tenants.TenantRegistry>().Get("acme")!;

    private static async Task ShouldBeProblemAsync(HttpResponseMessage r, HttpStatusCode status)
    {
        r.StatusCode.Should().Be(status, await r.Content.ReadAsStringAsync());
        r.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
    }

    // ---------------- callbacks ----------------

    [Fact]
    public async Task Pushes_outside_the_timestamp_window_are_refused_and_store_nothing()
    {
        var old = OpenId("old");
        var ahead = OpenId("ahead");
        var now = OpenId("now");

        await ShouldBeProblemAsync(await _a.Client.PostAsync(Plain(TestHub.OaAppId, Now(-5 * 86_400), NewNonce()), Xml(Unsubscribe(old))), HttpStatusCode.Forbidden);
        await ShouldBeProblemAsync(await _a.Client.PostAsync(Plain(TestHub.OaAppId, Now(30 * 86_400), NewNonce()), Xml(Unsubscribe(ahead))), HttpStatusCode.Forbidden);
        var (path, body) = Encrypted(SafeOa, Unsubscribe(old), Now(-5 * 86_400), NewNonce());
        await ShouldBeProblemAsync(await _a.Client.PostAsync(path, Xml(body)), HttpStatusCode.Forbidden);
        var fresh = await _a.Client.PostAsync(Plain(TestHub.OaAppId, Now(-30), NewNonce()), Xml(Unsubscribe(now)));

        (await fresh.Content.ReadAsStringAsync()).Should().Be("success");
        await DrainedAsync();
        (await KnownAsync(TestHub.OaAppId, old)).Should().BeFalse();
        (await KnownAsync(SafeOa, old)).Should().BeFalse();
        (await KnownAsync(TestHub.OaAppId, ahead)).Should().BeFalse();
        (await KnownAsync(TestHub.OaAppId, now)).Should().BeTrue();
    }

    [Fact]
    public async Task A_nonce_replayed_with_another_body_is_refused_on_every_instance_and_a_retry_is_processed_once()
    {
        var (ts, nonce) = (Now(), NewNonce());
        var genuine = OpenId("genuine");
        var forged = OpenId("forged");

        var first = await _a.Client.PostAsync(Plain(TestHub.OaAppId, ts, nonce), Xml(Unsubscribe(genuine)));
        var retry = await _b.Client.PostAsync(Plain(TestHub.OaAppId, ts, nonce), Xml(Unsubscribe(genuine)));
        var replay = await _b.Client.PostAsync(Plain(TestHub.OaAppId, ts, nonce), Xml(Unsubscribe(forged)));

        (await first.Content.ReadAsStringAsync()).Should().Be("success");
        (await retry.Content.ReadAsStringAsync()).Should().Be("success", "WeChat retries a push with its nonce; the dedupe answers it");
        await ShouldBeProblemAsync(replay, HttpStatusCode.Conflict);
        await DrainedAsync();
        (await KnownAsync(TestHub.OaAppId, forged)).Should().BeFalse();
        (await KnownAsync(TestHub.OaAppId, genuine)).Should().BeTrue();
        (await _a.Graph().FindAsync(Identifier.Parse($"openid:{TestHub.OaAppId}:{genuine}"), default)).Should().BeNull("an unsubscribe creates no person");
        (await Tenant(_a).Inbox.ListAsync(null, 1000, default)).Where(i => i.DedupeKey.Contains(genuine, StringComparison.Ordinal))
            .Should().ContainSingle("the retry was answered by the dedupe, not stored and processed again");
    }

    [Fact]
    public async Task Safe_mode_processes_only_encrypted_pushes_and_compatible_mode_takes_both()
    {
        var bypass = OpenId("bypass");
        await ShouldBeProblemAsync(await _a.Client.PostAsync(Plain(SafeOa, Now(), NewNonce()), Xml(Unsubscribe(bypass))), HttpStatusCode.Unauthorized);
        var (path, body) = Encrypted(SafeOa, Unsubscribe(OpenId("sealed")), Now(), NewNonce());
        (await (await _a.Client.PostAsync(path, Xml(body))).Content.ReadAsStringAsync()).Should().Be("success");

        (await (await _a.Client.PostAsync(Plain(CompatibleOa, Now(), NewNonce()), Xml(Unsubscribe(OpenId("compat1"))))).Content.ReadAsStringAsync()).Should().Be("success");
        var (cPath, cBody) = Encrypted(CompatibleOa, Unsubscribe(OpenId("compat2")), Now(), NewNonce());
        (await (await _a.Client.PostAsync(cPath, Xml(cBody))).Content.ReadAsStringAsync()).Should().Be("success");

        await DrainedAsync();
        (await KnownAsync(SafeOa, bypass)).Should().BeFalse();
        (await KnownAsync(SafeOa, OpenId("sealed"))).Should().BeTrue();
        (await KnownAsync(CompatibleOa, OpenId("compat1"))).Should().BeTrue();
        (await KnownAsync(CompatibleOa, OpenId("compat2"))).Should().BeTrue();
    }

    /// <summary>Any bytes as a signed push (plain or encrypted): a clear refusal or a plain acknowledgement, never a 5xx, and nothing stored.</summary>
    [Fact]
    public async Task Any_bytes_pushed_get_a_clear_answer_and_store_nothing()
    {
        var before = await _a.Graph().GetStatsAsync(default);
        var pieces = new[]
        {
            "<xml>", "</xml>", "<FromUserName>", "</FromUserName>", "<MsgType>event</MsgType>", "<Event>unsubscribe</Event>", "<Event>subscribe</Event>",
            "<![CDATA[", "]]>", "<!DOCTYPE x [<!ENTITY a \"b\">]>", "&a;", "&#0;", "\u0000", "oShort", "null", "<Encrypt>", "</Encrypt>", "\uFFFE", "é",
        };
        var near = Gen.ArrayOf(Gen.Elements(pieces)).Select(p => Encoding.UTF8.GetBytes(string.Concat(p)));
        var raw = Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>());
        var cases = Gen.OneOf(near, raw).SelectMany(bytes => Gen.Elements(0, 1, 2).Select(mode => (bytes, mode))).ToArbitrary();

        Prop.ForAll(cases, c =>
        {
            var (bytes, mode) = c;
            var (ts, nonce) = (Now(), NewNonce());
            string path;
            HttpContent content;
            if (mode == 2)
            {
                // Encrypted in form, any bytes inside: the msg_signature is valid, the plaintext is garbage.
                var encrypt = Convert.ToBase64String(bytes);
                path = $"{Plain(SafeOa, ts, nonce)}&encrypt_type=aes&msg_signature={WeChatSignature.ComputeMessage(Token, ts, nonce, encrypt)}";
                content = Xml(WeChatMessageCrypto.BuildEncryptedBody("gh_0123456789ab", encrypt));
            }
            else
            {
                path = Plain(mode == 0 ? TestHub.OaAppId : SafeOa, ts, nonce);
                content = new ByteArrayContent(bytes);
            }
            using var r = _a.Client.PostAsync(path, content).GetAwaiter().GetResult();
            var status = (int)r.StatusCode;
            var text = r.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            return status == 200 ? text == "success"
                : status is >= 400 and < 500 && r.Content.Headers.ContentType?.MediaType == "application/problem+json";
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
        await DrainedAsync();

        (await _a.Graph().GetStatsAsync(default)).Should().BeEquivalentTo(before, "no garbage became an observation");
    }

    // ---------------- keys ----------------

    private async Task<JsonElement> CreateKeyAsync(HttpClient admin, object request, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var r = await admin.PostAsJsonAsync("v1/keys", request);
        r.StatusCode.Should().Be(expected, await r.Content.ReadAsStringAsync());
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task An_admin_grants_only_the_tiers_it_holds()
    {
        using var root = _a.Admin();
        var internalAdmin = (await CreateKeyAsync(root, new { tiers = new[] { "internal" }, admin = true })).GetProperty("key").GetString()!;
        using var limited = _a.ClientWithKey(internalAdmin);

        async Task<int> CountAsync() => (await root.GetFromJsonAsync<JsonElement>("v1/keys")).GetProperty("keys").GetArrayLength();
        var before = await CountAsync();

        var escalation = await limited.PostAsJsonAsync("v1/keys", new { tiers = new[] { "internal", "private" } });
        await ShouldBeProblemAsync(escalation, HttpStatusCode.Forbidden);
        (await CountAsync()).Should().Be(before, "the refused key was not created");
        (await CreateKeyAsync(limited, new { tiers = new[] { "internal" } })).GetProperty("tiers").EnumerateArray().Select(t => t.GetString()).Should().NotContain("private");
        (await CountAsync()).Should().Be(before + 1);
    }

    [Fact]
    public async Task Keys_are_listed_without_secrets_and_a_revoke_holds_at_once_on_every_instance()
    {
        using var root = _a.Admin();
        var created = await CreateKeyAsync(root, new { name = "crm sync", tiers = new[] { "internal" }, permissions = new[] { "write" } });
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        created.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()).Should().Equal("read", "write");
        using var onA = _a.ClientWithKey(key);
        using var onB = _b.ClientWithKey(key);
        (await onA.GetAsync("v1/stats")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await onB.GetAsync("v1/stats")).StatusCode.Should().Be(HttpStatusCode.OK, "instance B has now looked the key up too");

        var listText = await root.GetStringAsync("v1/keys");
        using var list = JsonDocument.Parse(listText);
        var listed = list.RootElement.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == id);
        listed.GetProperty("name").GetString().Should().Be("crm sync");
        listed.GetProperty("created_at").GetDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        listed.GetProperty("last_used_at").ValueKind.Should().NotBe(JsonValueKind.Null, "the key was used");
        listText.Should().NotContain(key).And.NotContain(OneId.Server.Security.ApiKeys.Hash(key)).And.NotContain(TestHub.AdminKey);

        (await root.DeleteAsync($"v1/keys/{id}")).StatusCode.Should().Be(HttpStatusCode.NoContent);

        await ShouldBeProblemAsync(await onA.GetAsync("v1/stats"), HttpStatusCode.Unauthorized);
        await ShouldBeProblemAsync(await onB.GetAsync("v1/stats"), HttpStatusCode.Unauthorized);
        await ShouldBeProblemAsync(await root.DeleteAsync($"v1/keys/{id}"), HttpStatusCode.NotFound);
        (await root.GetStringAsync("v1/keys")).Should().NotContain(id);
    }

    [Fact]
    public async Task Read_and_write_keys_may_not_retract_erase_or_manage_keys()
    {
        using var root = _a.Admin();
        var accepted = await _a.Graph().ObserveAsync(new Observation([Identifier.Parse($"openid:{TestHub.OaAppId}:{OpenId("retract")}")], "test", DateTimeOffset.UtcNow), default);
        foreach (var permission in new[] { "read", "write" })
        {
            var key = (await CreateKeyAsync(root, new { tiers = new[] { "internal", "private" }, permissions = new[] { permission } })).GetProperty("key").GetString()!;
            using var c = _a.ClientWithKey(key);
            await ShouldBeProblemAsync(await c.PostAsync($"v1/observations/{accepted.Observation.Value}/retract", null), HttpStatusCode.Forbidden);
            await ShouldBeProblemAsync(await c.DeleteAsync($"v1/persons/{accepted.Person}/profile"), HttpStatusCode.Forbidden);
            await ShouldBeProblemAsync(await c.GetAsync("v1/keys"), HttpStatusCode.Forbidden);
            await ShouldBeProblemAsync(await c.PostAsJsonAsync("v1/keys", new { tiers = new[] { "internal" } }), HttpStatusCode.Forbidden);
        }
        (await root.PostAsync($"v1/observations/{accepted.Observation.Value}/retract", null)).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Another_tenants_key_cannot_be_revoked()
    {
        using var root = _a.Admin();
        var betaAdmin = await _a.App.Services.GetRequiredService<OneId.Server.Security.ApiKeys>().CreateKeyAsync(
            _a.App.Services.GetRequiredService<OneId.Server.Tenants.TenantRegistry>().Get("beta")!, null, [DataTier.Public, DataTier.Internal], OneId.Server.Security.KeyPermission.Admin, default);

        await ShouldBeProblemAsync(await root.DeleteAsync($"v1/keys/{betaAdmin.Id}"), HttpStatusCode.NotFound);
        using var beta = _a.ClientWithKey(betaAdmin.Key);
        (await beta.GetAsync("v1/stats")).StatusCode.Should().Be(HttpStatusCode.OK);
    }
}

public sealed class SqliteHardeningTests : HardeningContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File("hub.db"));

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresHardeningTests(PostgresFixture postgres) : HardeningContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}
