using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Graph;
using OneId.Server.Application;
using OneId.Server.Tenants;
using OneId.Storage.Hub;
using OneId.Testing;
using OneId.WeChat.Crypto;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>
/// Relationships end to end against the sandbox, on each store (S14, S15, S17): follows with QR scenes and SCAN,
/// unfollows, WeCom contacts with the contact way's state and both deletions, pushes out of order and retried, the
/// existing-customer backfill stopped and resumed, and the counts that come out of them.
/// </summary>
public abstract class RelationshipFlowContract : IAsyncLifetime
{
    private SandboxedHub _running = null!;

    protected abstract Task<string> NewDatabaseAsync();

    public async Task InitializeAsync() =>
        _running = await SandboxedHub.StartAsync(await NewDatabaseAsync(), 0, 0, o => o.BootstrapKey = TestHub.AdminKey, LogLevel.Critical, CancellationToken.None);

    public async Task DisposeAsync() => await _running.DisposeAsync();

    private HubTenant Tenant => _running.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!;

    private HttpClient Hub()
    {
        var c = new HttpClient { BaseAddress = _running.HubAddress };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestHub.AdminKey);
        return c;
    }

    private async Task<JsonElement> SandboxAsync(string path, object? body = null)
    {
        using var c = new HttpClient { BaseAddress = _running.Sandbox.BaseAddress };
        using var r = body is null ? await c.GetAsync(path) : await c.PostAsJsonAsync(path, body);
        var text = await r.Content.ReadAsStringAsync();
        r.IsSuccessStatusCode.Should().BeTrue(text);
        return string.IsNullOrEmpty(text) ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> GetAsync(string path)
    {
        using var hub = Hub();
        using var r = await hub.GetAsync(path);
        var text = await r.Content.ReadAsStringAsync();
        r.StatusCode.Should().Be(HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> ResolveAsync(string id) => await GetAsync($"v1/resolve?id={Uri.EscapeDataString(id)}");

    private async Task<JsonElement> TruthAsync(string user) => await SandboxAsync($"_sandbox/users/{user}");

    private async Task<string> NewUserAsync(string name)
    {
        await SandboxAsync("_sandbox/users", new { name });
        return name;
    }

    private async Task DrainedAsync()
    {
        try
        {
            await Eventually.TrueAsync(async () => (await Tenant.Inbox.StatsAsync(default)).Pending == 0, "the inbox has processed every push");
        }
        catch (TimeoutException)
        {
            var stuck = (await Tenant.Inbox.ListAsync(InboxState.Pending, 20, default)).Select(i => $"{i.DedupeKey}: {i.LastError}");
            throw new TimeoutException("the inbox still holds: " + string.Join("; ", stuck));
        }
    }

    private static string OpenIdOf(JsonElement truth) => truth.GetProperty("openids").GetProperty(Demo.OfficialAccount).GetString()!;

    private static string UnionIdOf(JsonElement truth) => $"unionid:{Demo.UnionSpace}:{truth.GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()}";

    private static JsonElement[] Follows(JsonElement person) => person.GetProperty("relationships").GetProperty("follows").EnumerateArray().ToArray();

    private static JsonElement[] Contacts(JsonElement person) => person.GetProperty("relationships").GetProperty("wecom_contacts").EnumerateArray().ToArray();

    /// <summary>An OA push as WeChat sends it in safe mode, with its own CreateTime.</summary>
    private async Task PushOaAsync(string openid, string evt, long createTime, string? eventKey = null)
    {
        var ts = _running.Hub.Services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var nonce = Guid.NewGuid().ToString("N")[..10];
        var xml = $"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{createTime}</CreateTime>"
            + $"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{evt}]]></Event>{(eventKey is null ? "" : $"<EventKey><![CDATA[{eventKey}]]></EventKey>")}</xml>";
        var sealedMsg = new WeChatMessageCrypto(SandboxMode.OaToken, SandboxMode.OaAesKey, Demo.OfficialAccount).Encrypt(xml, ts, nonce);
        var body = WeChatMessageCrypto.BuildEncryptedBody("gh_0123456789ab", sealedMsg.Encrypt);
        using var c = new HttpClient { BaseAddress = _running.HubAddress };
        var query = $"signature={WeChatSignature.ComputeCallback(SandboxMode.OaToken, ts, nonce)}&timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sealedMsg.MsgSignature}";
        using var r = await c.PostAsync($"v1/callbacks/oa/{Demo.OfficialAccount}?{query}", new StringContent(body, Encoding.UTF8, "text/xml"));
        (await r.Content.ReadAsStringAsync()).Should().Be("success");
    }

    /// <summary>A self-built app's change_external_contact push with its own CreateTime.</summary>
    private async Task PushWeComAsync(string changeType, string member, string externalUserId, long createTime)
    {
        var ts = _running.Hub.Services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var nonce = Guid.NewGuid().ToString("N")[..10];
        var xml = $"<xml><ToUserName><![CDATA[{Demo.Corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>{createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            + $"<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{changeType}]]></ChangeType><UserID><![CDATA[{member}]]></UserID><ExternalUserID><![CDATA[{externalUserId}]]></ExternalUserID></xml>";
        var sealedMsg = new WeChatMessageCrypto(SandboxMode.CrmToken, SandboxMode.CrmAesKey, Demo.Corp).Encrypt(xml, ts, nonce);
        using var c = new HttpClient { BaseAddress = _running.HubAddress };
        using var r = await c.PostAsync($"v1/callbacks/wecom/{Demo.Corp}/{Demo.SelfBuiltApp}?msg_signature={sealedMsg.MsgSignature}&timestamp={ts}&nonce={nonce}",
            new StringContent(WeChatMessageCrypto.BuildEncryptedBody(Demo.Corp, sealedMsg.Encrypt, "1000002"), Encoding.UTF8, "text/xml"));
        (await r.Content.ReadAsStringAsync()).Should().Be("success");
    }

    [Fact]
    public async Task Follows_keep_their_QR_scene_unfollows_end_them_and_real_followers_count_distinct_persons_now()
    {
        // Ann scans the spring poster without following: she follows through it (subscribe, EventKey qrscene_spring).
        var ann = await NewUserAsync("ann");
        var annTruth = await TruthAsync(ann);
        (await SandboxAsync($"_sandbox/users/{ann}/scan", new { appid = Demo.OfficialAccount, scene_str = "spring" })).GetProperty("event").GetString().Should().Be("subscribe");
        var annPerson = await Eventually.ValueAsync(() => ResolveAsync(UnionIdOf(annTruth)),
            p => p.TryGetProperty("relationships", out _) && Follows(p).Any(f => f.GetProperty("following").GetBoolean()), "ann's follow is recorded with her unionid");
        Follows(annPerson).Should().ContainSingle().Which.GetProperty("scene").GetString().Should().Be("spring");
        annPerson.GetProperty("relationships").GetProperty("following").GetBoolean().Should().BeTrue();

        // Following already, she scans the summer poster: SCAN, EventKey "summer" — a channel, not a new follow.
        (await SandboxAsync($"_sandbox/users/{ann}/scan", new { appid = Demo.OfficialAccount, scene_str = "summer" })).GetProperty("event").GetString().Should().Be("SCAN");

        // Ben follows from search, then unfollows.
        var ben = await NewUserAsync("ben");
        var benTruth = await TruthAsync(ben);
        await SandboxAsync($"_sandbox/users/{ben}/follow", new { appid = Demo.OfficialAccount });
        await Eventually.TrueAsync(async () => Follows(await ResolveAsync(UnionIdOf(benTruth))).Any(f => f.GetProperty("following").GetBoolean()), "ben follows");
        await SandboxAsync($"_sandbox/users/{ben}/unfollow", new { appid = Demo.OfficialAccount });
        var benPerson = await Eventually.ValueAsync(() => ResolveAsync(UnionIdOf(benTruth)),
            p => Follows(p).All(f => !f.GetProperty("following").GetBoolean()), "ben's unfollow ends his follow");
        Follows(benPerson).Single().GetProperty("unfollowed_at").ValueKind.Should().Be(JsonValueKind.String);

        // Cai's pushes arrive out of order and retried: the unfollow (later CreateTime) is processed before the follow.
        var cai = await NewUserAsync("cai");
        var caiOpenId = OpenIdOf(await TruthAsync(cai));
        var t = _running.Hub.Services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds() - 600;
        await PushOaAsync(caiOpenId, "unsubscribe", t + 10);
        await DrainedAsync();
        (await Tenant.Graph.FindAsync(Identifier.Parse($"openid:{Demo.OfficialAccount}:{caiOpenId}"), default)).Should().BeNull("an unfollow alone creates no person");
        await PushOaAsync(caiOpenId, "subscribe", t, "qrscene_autumn");
        await PushOaAsync(caiOpenId, "unsubscribe", t + 10); // WeChat's retry of the unfollow
        await DrainedAsync();
        var caiPerson = await ResolveAsync($"openid:{Demo.OfficialAccount}:{caiOpenId}");
        var caiFollow = Follows(caiPerson).Should().ContainSingle().Subject;
        caiFollow.GetProperty("following").GetBoolean().Should().BeFalse("the older follow does not undo the newer unfollow");
        caiFollow.GetProperty("since").GetDateTimeOffset().Should().Be(DateTimeOffset.FromUnixTimeSeconds(t + 10));

        // Dan unfollows and follows again within one second, Eve follows and unfollows: CreateTime ties, so the push
        // the hub took in later decides, whichever the inbox processes first.
        var danOpenId = OpenIdOf(await TruthAsync(await NewUserAsync("dan")));
        var eveOpenId = OpenIdOf(await TruthAsync(await NewUserAsync("eve")));
        await PushOaAsync(danOpenId, "unsubscribe", t + 20);
        await PushOaAsync(eveOpenId, "subscribe", t + 20);
        await PushOaAsync(danOpenId, "subscribe", t + 20);
        await PushOaAsync(eveOpenId, "unsubscribe", t + 20);
        await PushOaAsync(danOpenId, "unsubscribe", t + 20); // WeChat's retry of the first push: it keeps its first arrival
        await DrainedAsync();
        Follows(await ResolveAsync($"openid:{Demo.OfficialAccount}:{danOpenId}")).Should().ContainSingle()
            .Which.GetProperty("following").GetBoolean().Should().BeTrue("dan's follow arrived after his unfollow of the same second");
        Follows(await ResolveAsync($"openid:{Demo.OfficialAccount}:{eveOpenId}")).Should().ContainSingle()
            .Which.GetProperty("following").GetBoolean().Should().BeFalse("eve's unfollow arrived after her follow of the same second");

        await DrainedAsync();
        var stats = await GetAsync("v1/stats");
        stats.GetProperty("followers").GetProperty("total").GetInt64().Should().Be(2, "ann and dan follow now; ben, cai and eve do not");
        stats.GetProperty("followers").GetProperty("per_app").GetProperty(Demo.OfficialAccount).GetInt64().Should().Be(2);
        var channels = stats.GetProperty("channels").EnumerateArray().Where(c => c.GetProperty("kind").GetString() == ChannelKinds.QrScene)
            .ToDictionary(c => c.GetProperty("channel").GetString()!, c => c.GetProperty("persons").GetInt64());
        channels.Should().Equal(new Dictionary<string, long> { ["autumn"] = 1, ["spring"] = 1, ["summer"] = 1 });
        var today = stats.GetProperty("per_day").EnumerateArray().Last();
        today.GetProperty("followers").GetInt64().Should().Be(2);
        today.GetProperty("followers_per_app").GetProperty(Demo.OfficialAccount).GetInt64().Should().Be(2);
        today.GetProperty("new_persons").GetInt64().Should().Be(5, "ann, ben, cai, dan and eve were first seen today");
        Follows(await ResolveAsync(UnionIdOf(annTruth))).Single().GetProperty("scene").GetString().Should().Be("spring", "a SCAN did not bring her: her follow keeps the poster that did");
    }

    [Fact]
    public async Task WeCom_contacts_keep_the_contact_way_state_both_deletions_end_them_and_a_unionid_answers_whose_contact_it_is()
    {
        var dai = await NewUserAsync("dai");
        var truth = await TruthAsync(dai);
        var unionid = UnionIdOf(truth);
        var plain = $"external_userid:{Demo.Corp}:{truth.GetProperty("external_userids").GetProperty(Demo.Corp).GetString()}";
        // She logged in to the Mini Program first, so the provider app's ciphertext id joins her person too (S10).
        var code = (await SandboxAsync($"_sandbox/users/{dai}/login", new { appid = Demo.MiniProgram })).GetProperty("code").GetString();
        using (var login = await new HttpClient { BaseAddress = _running.HubAddress }.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code }))
        {
            login.StatusCode.Should().Be(HttpStatusCode.OK);
        }
        await Eventually.TrueAsync(async () => (await ResolveAsync(unionid)).GetProperty("identifiers").EnumerateArray().Any(i => i.GetString()!.StartsWith($"pending_id:{Demo.Corp}/", StringComparison.Ordinal)),
            "the provider conversion gave her a pending_id");
        await SandboxAsync($"_sandbox/users/{dai}/wecom-add", new { corpid = Demo.Corp, userid = "zhangsan", state = "fair-2024" });
        await SandboxAsync($"_sandbox/users/{dai}/wecom-add", new { corpid = Demo.Corp, userid = "lisi" });
        // S15: the H5 page has only the unionid; it answers whether she is a contact, and of whom.
        var person = await Eventually.ValueAsync(() => ResolveAsync(unionid),
            p => p.TryGetProperty("relationships", out var r) && Contacts(p).Count(c => c.GetProperty("external_userid").GetString() == plain && c.GetProperty("active").GetBoolean()) == 2,
            "both adds are recorded on her person");
        person.GetProperty("relationships").GetProperty("wecom_contact").GetBoolean().Should().BeTrue();
        Contacts(person).Single(c => c.GetProperty("external_userid").GetString() == plain && c.GetProperty("member").GetString() == "zhangsan")
            .GetProperty("state").GetString().Should().Be("fair-2024");

        await SandboxAsync($"_sandbox/users/{dai}/wecom-del", new { corpid = Demo.Corp, userid = "lisi", by = "customer" });
        await SandboxAsync($"_sandbox/users/{dai}/wecom-del", new { corpid = Demo.Corp, userid = "zhangsan", by = "member" });
        person = await Eventually.ValueAsync(() => ResolveAsync(unionid), p => !p.GetProperty("relationships").GetProperty("wecom_contact").GetBoolean(),
            "both deletions end the contacts");
        var ended = Contacts(person).Where(c => c.GetProperty("external_userid").GetString() == plain).ToDictionary(c => c.GetProperty("member").GetString()!, c => c.GetProperty("removed_by").GetString());
        ended.Should().Equal(new Dictionary<string, string?> { ["lisi"] = "customer", ["zhangsan"] = "member" });

        // A deletion of a customer the hub never saw creates nobody; an add retried after a newer deletion changes nothing.
        var ghost = "wmGhostGhostGhostGhostGhostGhost01";
        var t = _running.Hub.Services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds();
        await PushWeComAsync("del_follow_user", "zhangsan", ghost, t);
        await DrainedAsync();
        (await Tenant.Graph.FindAsync(Identifier.Parse($"external_userid:{Demo.Corp}:{ghost}"), default)).Should().BeNull();
        var daiExternal = plain[(plain.LastIndexOf(':') + 1)..];
        await PushWeComAsync("add_external_contact", "zhangsan", daiExternal, t - 3600);
        await DrainedAsync();
        (await ResolveAsync(unionid)).GetProperty("relationships").GetProperty("wecom_contact").GetBoolean().Should().BeFalse("the add is older than the deletion");

        var stats = await GetAsync("v1/stats");
        stats.GetProperty("wecom_contacts").GetProperty("total").GetInt64().Should().Be(0);
        var fair = stats.GetProperty("channels").EnumerateArray().Single(c => c.GetProperty("kind").GetString() == ChannelKinds.ContactWay && c.GetProperty("channel").GetString() == "fair-2024");
        (fair.GetProperty("owner").GetString(), fair.GetProperty("persons").GetInt64(), fair.GetProperty("became_contacts").GetInt64(), fair.GetProperty("contacts_now").GetInt64())
            .Should().Be((Demo.Corp, 1L, 1L, 0L), "one person came through the fair's contact way (seen by both apps, linked by her pending_id), became a contact, and is none now");
    }

    [Fact]
    public async Task The_existing_customer_backfill_resumes_after_a_kill_and_a_quota_with_no_page_read_twice()
    {
        var generated = await SandboxAsync("_sandbox/generate", new { users = 230, seed = 17, contacts = new Dictionary<string, double> { [Demo.Corp] = 1.0 } });
        var customers = generated.GetProperty("customers").GetInt32();
        customers.Should().Be(230);
        var tenant = Tenant;
        var corp = tenant.Options.Corps.Single(c => c.CorpId == Demo.Corp);
        var crm = corp.Apps.Single(a => a.Name == Demo.SelfBuiltApp);

        // Killed after its first page: the checkpoint holds the next cursor.
        var backfill = _running.Hub.Services.GetRequiredService<ContactBackfill>();
        var killed = () => backfill.RunAsync(tenant, corp, crm, CancellationToken.None, (_, _) => throw new OperationCanceledException("killed"));
        await killed.Should().ThrowAsync<OperationCanceledException>();
        (await tenant.Checkpoints.GetCheckpointAsync(ContactBackfill.CheckpointName($"{Demo.Corp}/{Demo.SelfBuiltApp}"), default)).Should().NotBeNull();

        // Then the daily quota: the job fails with WeChat's error and keeps the checkpoint.
        await SandboxAsync("_sandbox/faults", new { path = "/qyapi/cgi-bin/externalcontact/batch/get_by_user", errcode = 45009, times = 1 });
        using var hub = Hub();
        async Task<JsonElement> RunJobAsync()
        {
            using var start = await hub.PostAsJsonAsync("v1/jobs", new { kind = JobKinds.WeComContactsBackfill, corpid = Demo.Corp, app = Demo.SelfBuiltApp });
            start.StatusCode.Should().Be(HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync());
            var id = JsonDocument.Parse(await start.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
            return await Eventually.ValueAsync(() => GetAsync($"v1/jobs/{id}"), j => j.GetProperty("state").GetString() is "succeeded" or "failed", "the job finishes");
        }
        var failed = await RunJobAsync();
        failed.GetProperty("state").GetString().Should().Be("failed");
        failed.GetProperty("error").GetString().Should().Contain("45009");
        var done = await RunJobAsync();
        done.GetProperty("state").GetString().Should().Be("succeeded", done.GetProperty("error").ToString());
        done.GetProperty("progress").GetProperty("members").GetInt32().Should().Be(2, "the demo corp's two members");

        // Every (customer, member) pair read once over the three runs: the minimum batch/get_by_user allows (100 a page).
        var counts = (await SandboxAsync("_sandbox/calls")).GetProperty("counts");
        var pages = (customers + ContactBackfill.CustomersPerPage - 1) / ContactBackfill.CustomersPerPage;
        counts.GetProperty("/qyapi/cgi-bin/externalcontact/batch/get_by_user").GetInt64().Should().Be(pages + 1, "each page once, plus the one the quota refused");
        counts.GetProperty("/qyapi/cgi-bin/externalcontact/get_follow_user_list").GetInt64().Should().Be(3, "once per run");
        done.GetProperty("progress").GetProperty("contacts").GetInt32().Should().Be(customers - ContactBackfill.CustomersPerPage, "the killed run had read the first page");

        var stats = await GetAsync("v1/stats");
        stats.GetProperty("wecom_contacts").GetProperty("total").GetInt64().Should().Be(customers);
        var last = generated.GetProperty("last").GetString()!;
        var lastTruth = await TruthAsync(last);
        var member = lastTruth.GetProperty("wecom_contact_details").EnumerateArray().Single().GetProperty("userid").GetString();
        var person = await ResolveAsync(UnionIdOf(lastTruth));
        Contacts(person).Should().ContainSingle().Which.GetProperty("member").GetString().Should().Be(member);
        (await tenant.Checkpoints.GetCheckpointAsync(ContactBackfill.CheckpointName($"{Demo.Corp}/{Demo.SelfBuiltApp}"), default)).Should().BeNull("a finished run clears it");
    }
}

public sealed class SqliteRelationshipFlowTests : RelationshipFlowContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File("hub.db"));

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresRelationshipFlowTests(PostgresFixture postgres) : RelationshipFlowContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}
