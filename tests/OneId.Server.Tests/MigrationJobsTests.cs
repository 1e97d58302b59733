using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Sandbox.World;
using OneId.Server.Configuration;
using OneId.Testing;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>
/// S16 end to end against the sandbox, on each store: an OA account migration (changeopenid) and WeCom's provider id
/// upgrade (get_new_external_userid, userid_to_openuserid, open_corpid, both finish switches) as jobs; each new id
/// replaces the old one in its person, members are renamed, and relationships follow the new ids.
/// </summary>
public abstract class MigrationJobsContract
{
    private const string NewOa = "wxa0a0a0a0a0a0a007";

    protected abstract Task<string> NewDatabaseAsync();

    private async Task<SandboxedHub> StartAsync(bool legacyProvider = false) =>
        await SandboxedHub.StartAsync(await NewDatabaseAsync(), 0, 0, o =>
        {
            o.BootstrapKey = TestHub.AdminKey;
            o.Inbox.PollMilliseconds = 50;
            var tenant = o.Tenants[0];
            tenant.Apps.Add(new AppOptions { AppId = NewOa, Type = OneId.Server.Configuration.AppTypes.OfficialAccount, Secret = Demo.SecretOf(NewOa), UnionSpace = Demo.UnionSpace, Token = "newoatoken" });
            var isv = tenant.Corps[0].Apps.Single(a => a.Name == Demo.ProviderApp);
            isv.ProviderCorpId = SandboxMode.ProviderCorpId;
            isv.ProviderSecret = SandboxMode.ProviderSecret;
        }, LogLevel.Critical, CancellationToken.None, w =>
        {
            w.Apps.Add(new SandboxApp { Appid = NewOa, Secret = Demo.SecretOf(NewOa), Type = OneId.Sandbox.World.AppTypes.OfficialAccount, Subject = Demo.Subject, UnionSpace = Demo.UnionSpace, Name = "Acme OA (new)" });
            if (legacyProvider)
            {
                w.Corps[0].Apps.Single(a => a.Name == Demo.ProviderApp).IdMode = ProviderIdModes.Legacy;
            }
            return w;
        });

    private static HttpClient Admin(SandboxedHub hub)
    {
        var c = new HttpClient { BaseAddress = hub.HubAddress };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestHub.AdminKey);
        return c;
    }

    private static async Task<JsonElement> RunJobAsync(HttpClient admin, object request)
    {
        var start = await admin.PostAsJsonAsync("v1/jobs", request);
        start.StatusCode.Should().Be(HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync());
        var id = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var done = await Eventually.ValueAsync(() => admin.GetFromJsonAsync<JsonElement>($"v1/jobs/{id}"),
            j => j.GetProperty("state").GetString() is "succeeded" or "failed", $"job {id} finished");
        done.GetProperty("state").GetString().Should().Be("succeeded", done.ToString());
        return done;
    }

    private static async Task<JsonElement> ResolveAsync(HttpClient admin, string id)
    {
        var r = await admin.GetAsync($"v1/resolve?id={Uri.EscapeDataString(id)}");
        r.StatusCode.Should().Be(HttpStatusCode.OK, $"{id} resolves");
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    [StoreFact]
    public async Task An_OA_account_migration_replaces_every_known_openid_of_the_old_account_in_its_person()
    {
        await using var hub = await StartAsync();
        using var admin = Admin(hub);
        var fans = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var name = "mig" + Guid.NewGuid().ToString("N")[..8];
            await hub.Sandbox.CallAsync("_sandbox/users", new { name });
            await hub.Sandbox.CallAsync($"_sandbox/users/{name}/follow", new { appid = Demo.OfficialAccount });
            fans.Add(name);
        }
        await RunJobAsync(admin, new { kind = "oa_followers_backfill", appid = Demo.OfficialAccount });
        var before = new Dictionary<string, string>();
        foreach (var fan in fans)
        {
            var oldOpenId = $"openid:{Demo.OfficialAccount}:{(await hub.Sandbox.CallAsync($"_sandbox/users/{fan}")).GetProperty("openids").GetProperty(Demo.OfficialAccount).GetString()}";
            before[fan] = (await ResolveAsync(admin, oldOpenId)).GetProperty("id").GetString()!;
        }

        (await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_account_migration", appid = NewOa })).StatusCode.Should().Be(HttpStatusCode.BadRequest, "from_appid is required");
        await hub.Sandbox.CallAsync($"_sandbox/apps/{Demo.OfficialAccount}/migrate", new { to_appid = NewOa });
        var done = await RunJobAsync(admin, new { kind = "oa_account_migration", appid = NewOa, from_appid = Demo.OfficialAccount });

        done.GetProperty("progress").GetProperty("replaced").GetInt32().Should().BeGreaterThanOrEqualTo(fans.Count);
        foreach (var fan in fans)
        {
            var truth = await hub.Sandbox.CallAsync($"_sandbox/users/{fan}");
            var oldOpenId = $"openid:{Demo.OfficialAccount}:{truth.GetProperty("openids").GetProperty(Demo.OfficialAccount).GetString()}";
            var newOpenId = $"openid:{NewOa}:{truth.GetProperty("openids").GetProperty(NewOa).GetString()}";
            var person = await ResolveAsync(admin, oldOpenId);
            person.GetProperty("id").GetString().Should().Be(before[fan], "the person keeps its id");
            person.GetProperty("replaced_by").GetProperty(oldOpenId).GetString().Should().Be(newOpenId);
            (await ResolveAsync(admin, newOpenId)).GetProperty("id").GetString().Should().Be(before[fan]);
        }
        var events = (await admin.GetFromJsonAsync<JsonElement>("v1/events?after=0&limit=1000")).GetProperty("events").EnumerateArray();
        events.Count(e => e.GetProperty("type").GetString() == "person.identifier_replaced").Should().BeGreaterThanOrEqualTo(fans.Count);
    }

    [StoreFact]
    public async Task A_WeCom_provider_id_upgrade_replaces_old_external_userids_and_later_pushes_with_new_ids_reach_the_same_person()
    {
        await using var hub = await StartAsync(legacyProvider: true);
        using var admin = Admin(hub);
        await hub.Sandbox.CallAsync("_sandbox/users/alice/wecom-add", new { corpid = Demo.Corp, userid = "zhangsan" });
        var truth = await hub.Sandbox.CallAsync("_sandbox/users/alice");
        var ns = $"{Demo.Corp}/isv1";
        var oldId = $"external_userid:{ns}:{truth.GetProperty("legacy_external_userids").GetProperty(ns).GetString()}";
        var newId = $"external_userid:{ns}:{truth.GetProperty("upgraded_external_userids").GetProperty(ns).GetString()}";
        // The provider app's push carries the old ciphertext id.
        var person = await Eventually.ValueAsync(async () => (await admin.GetAsync($"v1/resolve?id={Uri.EscapeDataString(oldId)}")).StatusCode == HttpStatusCode.OK
            ? await ResolveAsync(admin, oldId) : default, p => p.ValueKind == JsonValueKind.Object, "the old external_userid is in the graph");
        var earlyId = person.GetProperty("id").GetString();

        await hub.Sandbox.CallAsync($"_sandbox/corps/{Demo.Corp}/providers/isv1/agree-migration", new { });
        var done = await RunJobAsync(admin, new { kind = "wecom_id_upgrade", corpid = Demo.Corp, app = Demo.ProviderApp });

        done.GetProperty("appid").GetString().Should().Be($"{Demo.Corp}/{Demo.ProviderApp}");
        done.GetProperty("progress").GetProperty("replaced").GetInt32().Should().BeGreaterThanOrEqualTo(1);
        var upgraded = await ResolveAsync(admin, oldId);
        // The follow-ups may have merged the provider's record with the self-built one meanwhile: the early id is then an alias.
        var personId = upgraded.GetProperty("id").GetString();
        (await admin.GetFromJsonAsync<JsonElement>($"v1/persons/{earlyId}")).GetProperty("id").GetString().Should().Be(personId);
        upgraded.GetProperty("replaced_by").GetProperty(oldId).GetString().Should().Be(newId);
        (await hub.Sandbox.CallAsync("_sandbox/users/alice")).GetProperty("external_userids").GetProperty(ns).GetString().Should().Be(newId[(ns.Length + "external_userid::".Length)..],
            "the job declared the migration finished: WeCom now sends the new id");

        // After the switch a push carries the new id: it reaches the same person instead of creating a second one.
        await hub.Sandbox.CallAsync("_sandbox/users/alice/wecom-add", new { corpid = Demo.Corp, userid = "lisi" });
        var observed = await Eventually.ValueAsync(() => admin.GetFromJsonAsync<JsonElement>($"v1/persons/{personId}/observations"),
            o => o.EnumerateArray().Count(x => x.GetProperty("source").GetString()!.StartsWith("wecom.contact:", StringComparison.Ordinal)
                && x.GetProperty("ids").EnumerateArray().Any(i => i.GetString() == newId)) > 0, "the post-switch push is observed on the person");
        observed.GetArrayLength().Should().BeGreaterThan(1);
        // The follow-ups run behind the pushes, so a merge with the self-built record may land only now: compare the
        // persons as they are at the end, the one personId names included.
        var final = (await ResolveAsync(admin, oldId)).GetProperty("id").GetString();
        (await ResolveAsync(admin, newId)).GetProperty("id").GetString().Should().Be(final);
        (await admin.GetFromJsonAsync<JsonElement>($"v1/persons/{personId}")).GetProperty("id").GetString().Should().Be(final);
    }

    [StoreFact]
    public async Task A_pending_id_reissued_after_its_90_days_replaces_the_old_one_and_the_later_WeCom_add_still_closes_the_loop()
    {
        await using var hub = await StartAsync();
        using var admin = Admin(hub);
        using var sandbox = new HttpClient { BaseAddress = hub.Sandbox.BaseAddress };
        var login = await (await sandbox.PostAsJsonAsync("_sandbox/users/bob/login", new { appid = Demo.MiniProgram })).Content.ReadFromJsonAsync<JsonElement>();
        (await admin.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code = login.GetProperty("code").GetString() })).EnsureSuccessStatusCode();
        var unionId = $"unionid:{Demo.UnionSpace}:{(await hub.Sandbox.CallAsync("_sandbox/users/bob")).GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()}";
        var prefix = $"pending_id:{Demo.Corp}/isv1:";
        static string[] Pending(JsonElement p, string prefix) => p.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()!).Where(i => i.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
        var first = await Eventually.ValueAsync(() => ResolveAsync(admin, unionId), p => Pending(p, prefix).Length == 1, "the follow-up converted bob's unionid to a pending_id");
        var oldPending = Pending(first, prefix)[0];

        // 91 days later the pending_id has expired: the refresh asks again and WeCom issues a new one for the same unionid.
        (await sandbox.PostAsJsonAsync("_sandbox/clock", new { advance_seconds = 91 * 86_400 })).EnsureSuccessStatusCode();
        var refreshed = await Eventually.ValueAsync(() => ResolveAsync(admin, unionId), p => p.TryGetProperty("replaced_by", out var r) && r.TryGetProperty(oldPending, out _),
            "the re-issued pending_id replaced the expired one");

        var newPending = refreshed.GetProperty("replaced_by").GetProperty(oldPending).GetString()!;
        newPending.Should().StartWith(prefix).And.NotBe(oldPending);
        refreshed.GetProperty("id").GetString().Should().Be(first.GetProperty("id").GetString());
        Pending(refreshed, prefix).Should().BeEquivalentTo([oldPending, newPending], "the old one still resolves");
        (await admin.GetFromJsonAsync<JsonElement>($"v1/conflicts")).GetProperty("open").GetInt64().Should().Be(0, "a re-issue is never a conflict");

        // bob becomes a customer: external_userid_to_pending_id answers the new pending_id, which links him to the same person.
        await hub.Sandbox.CallAsync("_sandbox/users/bob/wecom-add", new { corpid = Demo.Corp, userid = "lisi" });
        var cipher = $"external_userid:{Demo.Corp}/isv1:{(await hub.Sandbox.CallAsync("_sandbox/users/bob")).GetProperty("external_userids").GetProperty($"{Demo.Corp}/isv1").GetString()}";
        var customer = await Eventually.ValueAsync(() => ResolveAsync(admin, unionId),
            p => p.GetProperty("identifiers").EnumerateArray().Any(i => i.GetString() == cipher), "the provider's customer id joined bob's person");
        customer.GetProperty("id").GetString().Should().Be(first.GetProperty("id").GetString());
    }

    [StoreFact]
    public async Task Migration_jobs_refuse_what_they_cannot_run_with_problem_details()
    {
        await using var hub = await StartAsync();
        using var admin = Admin(hub);
        async Task Refused(object request, HttpStatusCode status, string title)
        {
            var r = await admin.PostAsJsonAsync("v1/jobs", request);
            r.StatusCode.Should().Be(status);
            r.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString().Should().Be(title);
        }

        await Refused(new { kind = "oa_account_migration", appid = NewOa, from_appid = "nonsense" }, HttpStatusCode.BadRequest, "Missing from_appid");
        await Refused(new { kind = "oa_account_migration", appid = NewOa, from_appid = NewOa }, HttpStatusCode.BadRequest, "Same account");
        await Refused(new { kind = "wecom_id_upgrade", corpid = Demo.Corp, app = "nope" }, HttpStatusCode.NotFound, "Unknown WeCom app");
        await Refused(new { kind = "wecom_id_upgrade", corpid = Demo.Corp, app = Demo.SelfBuiltApp }, HttpStatusCode.BadRequest, "Not a provider app");
    }
    private static async Task<JsonElement> StatsAsync(HttpClient admin) => await admin.GetFromJsonAsync<JsonElement>("v1/stats");

    private static long FollowersOf(JsonElement stats, string appid) =>
        stats.GetProperty("followers").GetProperty("per_app").TryGetProperty(appid, out var n) ? n.GetInt64() : 0;

    private static long CallsTo(JsonElement counts, string api) => counts.TryGetProperty("/qyapi/cgi-bin/" + api, out var n) ? n.GetInt64() : 0;

    /// <summary>The provider app's contacts in a person's answer, as (external_userid, member, active).</summary>
    private static string[] ProviderContacts(JsonElement person, string ns) =>
        person.GetProperty("relationships").GetProperty("wecom_contacts").EnumerateArray()
            .Where(c => c.GetProperty("external_userid").GetString()!.StartsWith($"external_userid:{ns}:", StringComparison.Ordinal))
            .Select(c => $"{c.GetProperty("external_userid").GetString()}|{c.GetProperty("member").GetString()}|{c.GetProperty("active").GetBoolean()}").ToArray();

    [StoreFact]
    public async Task A_WeCom_id_upgrade_converts_the_member_ids_makes_the_corpid_and_userid_switch_and_the_contacts_name_the_new_ids()
    {
        await using var hub = await StartAsync(legacyProvider: true);
        using var admin = Admin(hub);
        var ns = $"{Demo.Corp}/isv1";
        await hub.Sandbox.CallAsync("_sandbox/users/alice/wecom-add", new { corpid = Demo.Corp, userid = "zhangsan" });
        await hub.Sandbox.CallAsync("_sandbox/users/bob/wecom-add", new { corpid = Demo.Corp, userid = "lisi" });
        string Old(JsonElement truth) => $"external_userid:{ns}:{truth.GetProperty("legacy_external_userids").GetProperty(ns).GetString()}";
        string New(JsonElement truth) => $"external_userid:{ns}:{truth.GetProperty("upgraded_external_userids").GetProperty(ns).GetString()}";
        var alice = await hub.Sandbox.CallAsync("_sandbox/users/alice");
        var bob = await hub.Sandbox.CallAsync("_sandbox/users/bob");
        await Eventually.ValueAsync(async () => (await admin.GetAsync($"v1/resolve?id={Uri.EscapeDataString(Old(bob))}")).StatusCode == HttpStatusCode.OK
            ? ProviderContacts(await ResolveAsync(admin, Old(bob)), ns) : [], c => c.Length == 1, "the provider app's pushes (plain member ids, old external_userids) are recorded");
        (await Eventually.ValueAsync(async () => (await admin.GetAsync($"v1/resolve?id={Uri.EscapeDataString(Old(alice))}")).StatusCode == HttpStatusCode.OK
            ? ProviderContacts(await ResolveAsync(admin, Old(alice)), ns) : [], c => c.Length == 1, "alice's provider contact is recorded"))
            .Should().Equal($"{Old(alice)}|zhangsan|True");
        using var sandbox = new HttpClient { BaseAddress = hub.Sandbox.BaseAddress };
        var provider = (await sandbox.GetFromJsonAsync<JsonElement>("_sandbox")).GetProperty("corps").EnumerateArray()
            .Single(c => c.GetProperty("corpid").GetString() == Demo.Corp).GetProperty("providers").GetProperty("isv1");
        var openZhangsan = provider.GetProperty("open_userids").GetProperty("zhangsan").GetString()!;
        var openLisi = provider.GetProperty("open_userids").GetProperty("lisi").GetString()!;
        // Each customer's two contacts (the self-built app's and the provider's) become one person once the hub has linked
        // them by unionid, which can land after the provider's pushes: until then the count is per contact, not per person.
        static long Contacts(JsonElement stats) => stats.GetProperty("wecom_contacts").GetProperty("total").GetInt64();
        var contactsBefore = Contacts(await Eventually.ValueAsync(() => StatsAsync(admin), s => Contacts(s) == 2, "alice and bob, each one person"));

        await hub.Sandbox.CallAsync($"_sandbox/corps/{Demo.Corp}/providers/isv1/agree-migration", new { });
        await hub.Sandbox.CallAsync("_sandbox/calls", method: HttpMethod.Delete);
        var done = await RunJobAsync(admin, new { kind = "wecom_id_upgrade", corpid = Demo.Corp, app = Demo.ProviderApp });

        done.GetProperty("progress").GetProperty("members").GetInt32().Should().Be(2, "zhangsan and lisi, the members the provider's contacts name");
        var calls = (await hub.Sandbox.CallAsync("_sandbox/calls")).GetProperty("counts");
        CallsTo(calls, "batch/userid_to_openuserid").Should().Be(1, "both members in one call (up to 1,000 a call)");
        CallsTo(calls, "externalcontact/get_new_external_userid").Should().Be(1, "the two old ids in one call; their successors are not sent back");
        CallsTo(calls, "service/finish_openid_migration").Should().Be(1);
        var view = (await sandbox.GetFromJsonAsync<JsonElement>("_sandbox")).GetProperty("corps").EnumerateArray()
            .Single(c => c.GetProperty("corpid").GetString() == Demo.Corp).GetProperty("providers").GetProperty("isv1");
        view.GetProperty("open_ids_upgraded").GetBoolean().Should().BeTrue("the job made the corpid + userid switch (type 1)");
        view.GetProperty("external_upgraded").GetBoolean().Should().BeTrue();

        // Who has alice as a contact: the new member id, on her new external_userid (moved by the replacement's worker), once.
        var person = await Eventually.ValueAsync(() => ResolveAsync(admin, Old(alice)),
            p => ProviderContacts(p, ns).SequenceEqual([$"{New(alice)}|{openZhangsan}|True"]), "alice's contact names the new ids");
        person.GetProperty("relationships").GetProperty("wecom_contacts").EnumerateArray()
            .Where(c => c.GetProperty("external_userid").GetString()!.StartsWith($"external_userid:{Demo.Corp}:", StringComparison.Ordinal))
            .Select(c => c.GetProperty("member").GetString()).Should().AllBe("zhangsan", "the self-built app sees the plaintext userid: not renamed");
        await Eventually.ValueAsync(() => ResolveAsync(admin, Old(bob)), p => ProviderContacts(p, ns).SequenceEqual([$"{New(bob)}|{openLisi}|True"]), "bob's contact names the new ids");

        // After the switch WeCom names members by open_userid: bob adds zhangsan, and the contact counts him once.
        await hub.Sandbox.CallAsync("_sandbox/users/bob/wecom-add", new { corpid = Demo.Corp, userid = "zhangsan" });
        await Eventually.ValueAsync(() => ResolveAsync(admin, New(bob)), p => ProviderContacts(p, ns).Order().SequenceEqual(new[] { $"{New(bob)}|{openLisi}|True", $"{New(bob)}|{openZhangsan}|True" }.Order()),
            "the post-switch push names zhangsan by his open_userid, beside lisi's renamed contact");
        Contacts(await StatsAsync(admin)).Should().Be(contactsBefore, "alice and bob, each once");

        // Run again: everything is new already, so nothing is sent to be converted.
        await hub.Sandbox.CallAsync("_sandbox/calls", method: HttpMethod.Delete);
        await RunJobAsync(admin, new { kind = "wecom_id_upgrade", corpid = Demo.Corp, app = Demo.ProviderApp });
        calls = (await hub.Sandbox.CallAsync("_sandbox/calls")).GetProperty("counts");
        CallsTo(calls, "externalcontact/get_new_external_userid").Should().Be(0, "the ids the first run issued map to themselves: not sent again");
        CallsTo(calls, "batch/userid_to_openuserid").Should().Be(0, "the renamed members are new already");
    }

    [StoreFact]
    public async Task After_an_OA_account_migration_the_follower_counts_and_coverage_name_the_new_OA_and_count_nobody_twice()
    {
        await using var hub = await StartAsync();
        using var admin = Admin(hub);
        for (var i = 0; i < 3; i++)
        {
            var name = "fol" + Guid.NewGuid().ToString("N")[..8];
            await hub.Sandbox.CallAsync("_sandbox/users", new { name });
            await hub.Sandbox.CallAsync($"_sandbox/users/{name}/follow", new { appid = Demo.OfficialAccount });
        }
        await RunJobAsync(admin, new { kind = "oa_followers_backfill", appid = Demo.OfficialAccount });
        var before = await StatsAsync(admin);
        var followers = FollowersOf(before, Demo.OfficialAccount);
        followers.Should().BeGreaterThanOrEqualTo(3);

        await hub.Sandbox.CallAsync($"_sandbox/apps/{Demo.OfficialAccount}/migrate", new { to_appid = NewOa });
        await RunJobAsync(admin, new { kind = "oa_account_migration", appid = NewOa, from_appid = Demo.OfficialAccount });

        // The follow-up worker moves each replaced openid's follow after the replacement; a follow push with a new openid
        // may land first, so the new OA can reach its count while the old one still holds rows that are yet to move.
        var after = await Eventually.ValueAsync(() => StatsAsync(admin),
            s => FollowersOf(s, NewOa) == followers && FollowersOf(s, Demo.OfficialAccount) == 0,
            "the follows moved to the new OA's openids and the old appid's openids were all replaced");
        after.GetProperty("followers").GetProperty("total").GetInt64().Should().Be(before.GetProperty("followers").GetProperty("total").GetInt64());
        after.GetProperty("unionid_coverage").EnumerateArray().Select(c => c.GetProperty("appid").GetString()).Should().NotContain(Demo.OfficialAccount,
            "coverage counts openids in effect; the old OA's are replaced");
        after.GetProperty("unionid_coverage").EnumerateArray().Single(c => c.GetProperty("appid").GetString() == NewOa).GetProperty("persons").GetInt64()
            .Should().Be(followers);

        // The new OA's own follower backfill sees the same people again: one follow each, nobody counted twice.
        await RunJobAsync(admin, new { kind = "oa_followers_backfill", appid = NewOa });
        var again = await StatsAsync(admin);
        FollowersOf(again, NewOa).Should().Be(followers);
        again.GetProperty("followers").GetProperty("total").GetInt64().Should().Be(after.GetProperty("followers").GetProperty("total").GetInt64());
    }
}

public sealed class SqliteMigrationJobsTests : MigrationJobsContract, IDisposable
{
    private readonly TempFolder _folder = new();

    protected override Task<string> NewDatabaseAsync() => Task.FromResult(_folder.File($"migrations-{Guid.NewGuid():N}.db"));

    public void Dispose() => _folder.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresMigrationJobsTests(PostgresFixture postgres) : MigrationJobsContract
{
    protected override Task<string> NewDatabaseAsync() => postgres.Cluster.CreateDatabaseAsync();
}
