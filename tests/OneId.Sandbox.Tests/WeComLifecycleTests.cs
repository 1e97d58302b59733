using System.Text.Json;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

/// <summary>
/// The WeCom side: contact ways with state, both deletions, the existing-customer walk (get_follow_user_list, then
/// get_by_user paged by cursor), the provider id upgrade with its switches, and pending_id reissue after 90 days.
/// </summary>
public sealed class WeComLifecycleTests
{
    private const string Corp = DemoWorld.Corp;

    private static string Decrypt(ReceivedPush push, string aesKey) => CallbackOracle.Decrypt(aesKey, CallbackOracle.Between(push.Body, "Encrypt")).Message;

    [Fact]
    public async Task A_contact_way_carries_its_state_into_the_push_and_follow_user()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        var token = await sandbox.WeComTokenAsync("secret-crm");
        string Url(string api) => $"qyapi/cgi-bin/externalcontact/{api}?access_token={token}";
        var way = await sandbox.PostAsync(Url("add_contact_way"), new { type = 1, scene = 2, state = "poster-7", user = new[] { "zhangsan" }, skip_verify = true });
        way.GetProperty("errcode").GetInt32().Should().Be(0);
        var configId = way.Str("config_id");
        way.Str("qr_code").Should().StartWith("https://");
        (await sandbox.PostAsync(Url("add_contact_way"), new { type = 1, scene = 1, state = "s", user = new[] { "zhangsan" } })).TryGetProperty("qr_code", out _).Should().BeFalse("a mini-program way has no QR code");
        (await sandbox.PostAsync(Url("add_contact_way"), new { type = 1, scene = 2, state = new string('s', 31), user = new[] { "zhangsan" } })).ShouldBeError(40058);
        (await sandbox.PostAsync(Url("add_contact_way"), new { type = 1, scene = 2, user = new[] { "zhangsan", "lisi" } })).ShouldBeError(40058);
        (await sandbox.PostAsync(Url("add_contact_way"), new { type = 2, scene = 2, user = new[] { "ghost" } })).ShouldBeError(60111);
        (await sandbox.PostAsync(Url("get_contact_way"), new { config_id = configId })).GetProperty("contact_way").Str("state").Should().Be("poster-7");

        await sandbox.ControlAsync("users/bob/contact-way", new { config_id = configId });
        var push = await sandbox.Receiver!.WaitForAsync(p => p.Path == "wecom/crm");
        var xml = Decrypt(push, TestWorlds.WeComAesKey);
        CallbackOracle.Between(xml, "ChangeType").Should().Be("add_external_contact");
        CallbackOracle.Between(xml, "UserID").Should().Be("zhangsan");
        CallbackOracle.Between(xml, "State").Should().Be("poster-7");
        var external = CallbackOracle.Between(xml, "ExternalUserID");
        var follow = (await sandbox.GetAsync(Url("get") + "&external_userid=" + external)).GetProperty("follow_user")[0];
        follow.Str("state").Should().Be("poster-7");
        follow.GetProperty("add_way").GetInt32().Should().Be(1, "scanned the way's QR code");

        (await sandbox.PostAsync(Url("del_contact_way"), new { config_id = configId })).GetProperty("errcode").GetInt32().Should().Be(0);
        using var gone = await sandbox.Http.PostAsync(new Uri("_sandbox/users/alice/contact-way", UriKind.Relative),
            new StringContent(JsonSerializer.Serialize(new { config_id = configId }), System.Text.Encoding.UTF8, "application/json"));
        ((int)gone.StatusCode).Should().Be(404);
    }

    [Fact]
    public async Task A_member_deleting_a_customer_pushes_del_external_contact_and_a_customer_deleting_a_member_del_follow_user()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        await sandbox.ControlAsync("users/alice/wecom-add", new { corpid = Corp, userid = "zhangsan" });
        await sandbox.ControlAsync("users/alice/wecom-add", new { corpid = Corp, userid = "lisi" });
        await sandbox.ControlAsync("users/alice/wecom-del", new { corpid = Corp, userid = "zhangsan", by = "member" });
        await sandbox.ControlAsync("users/alice/wecom-del", new { corpid = Corp, userid = "lisi" });
        var changes = await OneId.Testing.Eventually.ValueAsync(
            () => Task.FromResult(sandbox.Receiver!.Messages("wecom/crm", TestWorlds.WeComAesKey)), m => m.Count >= 4, "four contact changes");
        // Pushes are delivered concurrently, as WeChat's are: their arrival order is not part of the contract.
        changes.Select(x => (CallbackOracle.Between(x, "ChangeType"), CallbackOracle.Between(x, "UserID"))).Should().BeEquivalentTo(new[]
            { ("add_external_contact", "zhangsan"), ("add_external_contact", "lisi"), ("del_external_contact", "zhangsan"), ("del_follow_user", "lisi") });
        var token = await sandbox.WeComTokenAsync("secret-crm");
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/list?access_token={token}&userid=zhangsan")).ShouldBeError(84061);
        (await sandbox.TruthAsync("alice")).GetProperty("wecom_contacts").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Existing_customers_are_walked_by_member_with_a_cursor_and_the_api_quota()
    {
        await using var sandbox = await TestSandbox.StartAsync(o => o.Limits.WeComApiPerMinute = 40);
        var generated = await sandbox.ControlAsync("generate", new { users = 1000, seed = 9, contacts = new Dictionary<string, double> { [Corp] = 0.5 } });
        var customers = generated.GetProperty("customers").GetInt32();
        customers.Should().BeInRange(400, 600);
        var token = await sandbox.WeComTokenAsync("secret-crm");
        var members = (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get_follow_user_list?access_token={token}")).GetProperty("follow_user")
            .EnumerateArray().Select(e => e.GetString()!).ToList();
        members.Should().Equal("zhangsan", "lisi");

        var seen = new List<string>();
        var cursor = "";
        var calls = 0;
        do
        {
            var page = await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={token}", new { userid_list = members, cursor, limit = 100 });
            page.GetProperty("errcode").GetInt32().Should().Be(0);
            var items = page.GetProperty("external_contact_list").EnumerateArray().ToList();
            items.Count.Should().BeLessThanOrEqualTo(100);
            seen.AddRange(items.Select(i => i.GetProperty("external_contact").Str("external_userid") + "/" + i.GetProperty("follow_info").Str("userid")));
            cursor = page.Str("next_cursor");
            calls++;
            if (calls == 2)
            {
                // A customer removed behind the cursor does not shift the pages.
                var removed = generated.Str("first");
                await sandbox.ControlAsync($"users/{removed}/wecom-del", new { corpid = Corp, userid = "zhangsan" });
            }
        }
        while (cursor.Length > 0);
        seen.Should().OnlyHaveUniqueItems();
        seen.Count.Should().BeInRange(customers - 1, customers);
        calls.Should().Be((int)Math.Ceiling(customers / 100.0), "every page but the last is full, across both members");

        // 40 calls a minute per API in this corp (WeCom's base limit is 10,000): the next ones answer 45009.
        for (var i = calls; i < 40; i++)
        {
            await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get_follow_user_list?access_token={token}");
        }
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get_follow_user_list?access_token={token}")).GetProperty("errcode").GetInt32().Should().Be(0, "quotas are per API");
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={token}", new { userid_list = members, limit = 100 }))
            .GetProperty("errcode").GetInt32().Should().Be(0);
        for (var i = 0; i < 40; i++)
        {
            await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get_follow_user_list?access_token={token}");
        }
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get_follow_user_list?access_token={token}")).ShouldBeError(45009);
        await sandbox.AdvanceAsync(60);
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get_follow_user_list?access_token={token}")).GetProperty("errcode").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task An_upgraded_provider_sees_open_userids_everywhere_and_plain_ones_are_unknown()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        await sandbox.ControlAsync("users/alice/wecom-add", new { corpid = Corp, userid = "zhangsan" });
        var view = await sandbox.ProviderViewAsync(Corp, "isv1");
        var open = view.GetProperty("open_userids").Str("zhangsan");
        open.Should().StartWith("wo");
        var isv = await sandbox.WeComTokenAsync("secret-isv-crm");
        var members = (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get_follow_user_list?access_token={isv}")).GetProperty("follow_user");
        members[0].GetString().Should().Be(open);
        var page = await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={isv}", new { userid_list = new[] { open } });
        page.GetProperty("external_contact_list")[0].GetProperty("follow_info").Str("userid").Should().Be(open);
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={isv}", new { userid_list = new[] { "zhangsan" } })).ShouldBeError(60111);
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/list?access_token={isv}&userid={open}")).GetProperty("external_userid").GetArrayLength().Should().Be(1);
    }

    [Fact]
    public async Task A_legacy_provider_corp_upgrades_its_ids_through_agreement_conversion_and_the_switches()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true,
            configureWorld: w => w.Corps[0].Apps.Single(a => a.Name == "isv-crm").IdMode = ProviderIdModes.Legacy);
        await sandbox.ControlAsync("users/alice/wecom-add", new { corpid = Corp, userid = "zhangsan" });
        var truth = await sandbox.TruthAsync("alice");
        var oldId = truth.GetProperty("legacy_external_userids").Str(Corp + "/isv1");
        var newId = truth.GetProperty("upgraded_external_userids").Str(Corp + "/isv1");
        oldId.Should().NotBe(newId);
        truth.GetProperty("external_userids").Str(Corp + "/isv1").Should().Be(oldId, "before the upgrade the provider sees the old id");

        // Before the upgrade: plain corpid and userid in the suite's push, the old external_userid.
        var before = await sandbox.Receiver!.WaitForMessageAsync("wecom/isv", TestWorlds.SuiteAesKey, x => x.Contains("change_external_contact", StringComparison.Ordinal));
        CallbackOracle.Between(before, "AuthCorpId").Should().Be(Corp);
        CallbackOracle.Between(before, "UserID").Should().Be("zhangsan");
        CallbackOracle.Between(before, "ExternalUserID").Should().Be(oldId);

        var isv = await sandbox.WeComTokenAsync("secret-isv-crm");
        string Qy(string path) => $"qyapi/cgi-bin/{path}?access_token={isv}";
        (await sandbox.PostAsync(Qy("externalcontact/get_new_external_userid"), new { external_userid_list = new[] { oldId } })).ShouldBeError(48002);
        var view = await sandbox.ProviderViewAsync(Corp, "isv1");
        var provider = await sandbox.PostAsync("qyapi/cgi-bin/service/get_provider_token", new { corpid = view.Str("provider_corpid"), provider_secret = "secret-isv1" });
        var providerToken = provider.Str("provider_access_token");
        (await sandbox.PostAsync("qyapi/cgi-bin/service/get_provider_token", new { corpid = view.Str("provider_corpid"), provider_secret = "wrong" })).ShouldBeError(40001);
        string Provider(string path) => $"qyapi/cgi-bin/service/{path}?provider_access_token={providerToken}";
        (await sandbox.PostAsync(Provider("externalcontact/finish_external_userid_migration"), new { corpid = Corp })).ShouldBeError(48002);

        // The admin agrees: agree_external_userid_migration to the suite.
        await sandbox.ControlAsync($"corps/{Corp}/providers/isv1/agree-migration");
        var agreed = await sandbox.Receiver.WaitForMessageAsync("wecom/isv", TestWorlds.SuiteAesKey, x => x.Contains("agree_external_userid_migration", StringComparison.Ordinal));
        CallbackOracle.Between(agreed, "ServiceCorpId").Should().Be(view.Str("provider_corpid"));
        CallbackOracle.Between(agreed, "AuthCorpId").Should().Be(Corp);

        var mapped = (await sandbox.PostAsync(Qy("externalcontact/get_new_external_userid"), new { external_userid_list = new[] { oldId, "wmnobody" } })).GetProperty("items");
        mapped.GetArrayLength().Should().Be(1);
        mapped[0].Str("external_userid").Should().Be(oldId);
        mapped[0].Str("new_external_userid").Should().Be(newId);
        (await sandbox.PostAsync(Provider("corpid_to_opencorpid"), new { corpid = Corp })).Str("open_corpid").Should().Be(view.Str("open_corpid"));
        (await sandbox.PostAsync(Provider("corpid_to_opencorpid"), new { corpid = "wwnotacorp00000000" })).ShouldBeError(40013);
        var openUsers = (await sandbox.PostAsync(Qy("batch/userid_to_openuserid"), new { userid_list = new[] { "zhangsan" } })).GetProperty("open_userid_list");
        openUsers[0].Str("open_userid").Should().Be(view.GetProperty("open_userids").Str("zhangsan"));

        // Switch external_userid: the old id is unknown from now on, the new one works.
        (await sandbox.PostAsync(Provider("externalcontact/finish_external_userid_migration"), new { corpid = Corp })).GetProperty("errcode").GetInt32().Should().Be(0);
        (await sandbox.GetAsync(Qy("externalcontact/get") + "&external_userid=" + oldId)).ShouldBeError(40096);
        (await sandbox.GetAsync(Qy("externalcontact/get") + "&external_userid=" + newId)).GetProperty("follow_user")[0].Str("userid").Should().Be("zhangsan");
        (await sandbox.TruthAsync("alice")).GetProperty("external_userids").Str(Corp + "/isv1").Should().Be(newId);

        // Switch corpid + userid (openid_type 1): open ids in answers and pushes; unknown types answer 40058.
        (await sandbox.PostAsync(Provider("finish_openid_migration"), new { corpid = Corp, openid_type = new[] { 2 } })).ShouldBeError(40058);
        (await sandbox.PostAsync(Provider("finish_openid_migration"), new { corpid = Corp, openid_type = new[] { 1 } })).GetProperty("errcode").GetInt32().Should().Be(0);
        (await sandbox.GetAsync(Qy("externalcontact/get_follow_user_list"))).GetProperty("follow_user")[0].GetString().Should().Be(view.GetProperty("open_userids").Str("zhangsan"));
        // The corp's APIs now take and answer members by open_userid: a plain userid is no member of this app's view.
        var page = await sandbox.PostAsync(Qy("externalcontact/batch/get_by_user"), new { userid_list = new[] { view.GetProperty("open_userids").Str("zhangsan") } });
        page.GetProperty("external_contact_list")[0].GetProperty("follow_info").Str("userid").Should().Be(view.GetProperty("open_userids").Str("zhangsan"));
        (await sandbox.PostAsync(Qy("externalcontact/batch/get_by_user"), new { userid_list = new[] { "zhangsan" } })).ShouldBeError(60111);
        await sandbox.ControlAsync("users/bob/wecom-add", new { corpid = Corp, userid = "lisi" });
        var after = await sandbox.Receiver.WaitForMessageAsync("wecom/isv", TestWorlds.SuiteAesKey,
            x => x.Contains("change_external_contact", StringComparison.Ordinal) && CallbackOracle.Between(x, "AuthCorpId") != Corp);
        CallbackOracle.Between(after, "AuthCorpId").Should().Be(view.Str("open_corpid"));
        CallbackOracle.Between(after, "UserID").Should().Be(view.GetProperty("open_userids").Str("lisi"));
        CallbackOracle.Between(after, "ExternalUserID").Should().Be((await sandbox.TruthAsync("bob")).GetProperty("external_userids").Str(Corp + "/isv1"));
    }

    [Fact]
    public async Task A_pending_id_expires_after_90_sandbox_days_and_a_new_one_is_issued_for_the_same_unionid()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var truth = await sandbox.TruthAsync("bob");
        var body = new { unionid = truth.GetProperty("unionids").Str("acme"), openid = truth.GetProperty("openids").Str(DemoWorld.MiniProgram), subject_type = 0 };
        var isv = await sandbox.WeComTokenAsync("secret-isv-crm");
        string Convert() => $"qyapi/cgi-bin/idconvert/unionid_to_external_userid?access_token={isv}";
        var first = (await sandbox.PostAsync(Convert(), body)).Str("pending_id");
        await sandbox.AdvanceAsync(89 * 86_400);
        isv = await sandbox.WeComTokenAsync("secret-isv-crm");
        (await sandbox.PostAsync(Convert(), body)).Str("pending_id").Should().Be(first, "still inside its 90 days");
        await sandbox.AdvanceAsync(2 * 86_400);
        isv = await sandbox.WeComTokenAsync("secret-isv-crm");
        (await sandbox.TruthAsync("bob")).GetProperty("pending_ids").TryGetProperty(Corp + "/isv1", out _).Should().BeFalse("the first one expired");
        var second = (await sandbox.PostAsync(Convert(), body)).Str("pending_id");
        second.Should().NotBe(first).And.StartWith("p");

        await sandbox.ControlAsync("users/bob/wecom-add", new { corpid = Corp, userid = "lisi" });
        var cipher = (await sandbox.TruthAsync("bob")).GetProperty("external_userids").Str(Corp + "/isv1");
        var result = (await sandbox.PostAsync($"qyapi/cgi-bin/idconvert/batch/external_userid_to_pending_id?access_token={isv}", new { external_userid = new[] { cipher } })).GetProperty("result");
        result.GetArrayLength().Should().Be(1);
        result[0].Str("pending_id").Should().Be(second);
    }
}
