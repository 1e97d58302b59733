using System.Text.Json;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class WeComTests
{
    private const string Corp = DemoWorld.Corp;

    [Fact]
    public async Task Self_built_app_sees_plaintext_ids_and_the_unionid_provider_app_sees_ciphertext_and_none()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        await sandbox.ControlAsync("users/alice/wecom-add", new { corpid = Corp, userid = "zhangsan", state = "poster" });
        var truth = await sandbox.TruthAsync("alice");
        var plain = truth.GetProperty("external_userids").Str(Corp);
        var cipher = truth.GetProperty("external_userids").Str(Corp + "/isv1");
        plain.Should().StartWith("wm").And.HaveLength(32);
        cipher.Should().StartWith("wm").And.HaveLength(32).And.NotBe(plain);

        var selfToken = await sandbox.WeComTokenAsync("secret-crm");
        var list = await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/list?access_token={selfToken}&userid=zhangsan");
        list.GetProperty("external_userid").EnumerateArray().Select(e => e.GetString()).Should().Equal(plain);
        var contact = await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get?access_token={selfToken}&external_userid={plain}");
        contact.GetProperty("errcode").GetInt32().Should().Be(0);
        contact.GetProperty("external_contact").Str("unionid").Should().Be(truth.GetProperty("unionids").Str("acme"));
        contact.GetProperty("external_contact").GetProperty("type").GetInt32().Should().Be(1);
        var follow = contact.GetProperty("follow_user")[0];
        follow.Str("userid").Should().Be("zhangsan");
        follow.Str("state").Should().Be("poster");
        contact.Str("next_cursor").Should().BeEmpty();

        var isvToken = await sandbox.WeComTokenAsync("secret-isv-crm");
        var isvContact = await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get?access_token={isvToken}&external_userid={cipher}");
        isvContact.GetProperty("external_contact").Str("external_userid").Should().Be(cipher);
        isvContact.GetProperty("external_contact").TryGetProperty("unionid", out _).Should().BeFalse();
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get?access_token={isvToken}&external_userid={plain}")).ShouldBeError(40096);
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get?access_token={selfToken}&external_userid={truth.GetProperty("external_userids").Str(Corp)}x")).ShouldBeError(40096);

        var bobPlain = (await sandbox.TruthAsync("bob")).GetProperty("external_userids").Str(Corp);
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/get?access_token={selfToken}&external_userid={bobPlain}")).ShouldBeError(84061);
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/list?access_token={selfToken}&userid=lisi")).ShouldBeError(84061);
        (await sandbox.GetAsync($"qyapi/cgi-bin/externalcontact/list?access_token={selfToken}&userid=nobody")).ShouldBeError(60111);
    }

    [Fact]
    public async Task Ciphertext_ids_differ_per_provider_and_per_corp()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var ids = (await sandbox.TruthAsync("alice")).GetProperty("external_userids");
        var isv1 = ids.Str(Corp + "/isv1");
        var isv2 = ids.Str(Corp + "/isv2");
        var otherCorp = ids.Str(TestWorlds.OtherCorp + "/isv1");
        new[] { ids.Str(Corp), isv1, isv2, otherCorp }.Distinct().Should().HaveCount(4);
    }

    [Fact]
    public async Task Get_by_user_pages_with_a_clamped_limit_and_checks_the_list()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        await sandbox.ControlAsync("generate", new { users = 130, seed = 5 });
        for (var i = 0; i < 130; i++)
        {
            await sandbox.ControlAsync($"users/g5-{i}/wecom-add", new { corpid = Corp, userid = i % 2 == 0 ? "zhangsan" : "lisi" });
        }
        var token = await sandbox.WeComTokenAsync("secret-crm");
        var seen = new List<string>();
        string cursor = "";
        var pages = 0;
        do
        {
            var page = await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={token}", new { userid_list = new[] { "zhangsan", "lisi" }, cursor, limit = 1000 });
            page.GetProperty("errcode").GetInt32().Should().Be(0);
            var items = page.GetProperty("external_contact_list").EnumerateArray().ToList();
            items.Count.Should().BeLessThanOrEqualTo(100, "limit is clamped to 100");
            items.Should().OnlyContain(i => i.GetProperty("follow_info").GetProperty("tag_id").ValueKind == JsonValueKind.Array);
            seen.AddRange(items.Select(i => i.GetProperty("external_contact").Str("external_userid")));
            cursor = page.Str("next_cursor");
            pages++;
        }
        while (cursor.Length > 0);
        pages.Should().Be(2);
        seen.Should().HaveCount(130).And.OnlyHaveUniqueItems();

        var defaultLimit = await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={token}", new { userid_list = new[] { "zhangsan" } });
        defaultLimit.GetProperty("external_contact_list").GetArrayLength().Should().Be(50);
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={token}", new { userid_list = Enumerable.Repeat("zhangsan", 101) })).ShouldBeError(40031);
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={token}", new { userid_list = new[] { "ghost" } })).ShouldBeError(60111);
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={token}", new { userid_list = new[] { 1, 2 } })).ShouldBeError(47001);
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={token}", "")).ShouldBeError(44002);
    }

    [Fact]
    public async Task Unionid_converts_to_pending_id_then_to_external_userid_once_a_customer()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var truth = await sandbox.TruthAsync("bob");
        var unionid = truth.GetProperty("unionids").Str("acme");
        var mpOpenid = truth.GetProperty("openids").Str(DemoWorld.MiniProgram);
        var isv = await sandbox.WeComTokenAsync("secret-isv-crm");
        async Task<JsonElement> Convert(int subjectType, string token) =>
            await sandbox.PostAsync($"qyapi/cgi-bin/idconvert/unionid_to_external_userid?access_token={token}", new { unionid, openid = mpOpenid, subject_type = subjectType });

        var pending = await Convert(0, isv);
        pending.GetProperty("errcode").GetInt32().Should().Be(0);
        var pendingId = pending.Str("pending_id");
        pendingId.Should().StartWith("p");
        pending.TryGetProperty("external_userid", out _).Should().BeFalse();

        (await Convert(1, isv)).ShouldBeError(845003); // isv1's subject is ISV Ltd, the ids are Acme Ltd's
        (await Convert(1, await sandbox.WeComTokenAsync("secret-isv2-crm"))).TryGetProperty("pending_id", out _).Should().BeTrue("isv2 shares Acme's subject");
        (await Convert(0, await sandbox.WeComTokenAsync("secret-crm"))).ShouldBeError(48002);

        await sandbox.ControlAsync("users/bob/wecom-add", new { corpid = Corp, userid = "lisi" });
        var cipher = truth.GetProperty("external_userids").Str(Corp + "/isv1");
        (await Convert(0, isv)).Str("external_userid").Should().Be(cipher);
        var mapping = await sandbox.PostAsync($"qyapi/cgi-bin/idconvert/batch/external_userid_to_pending_id?access_token={isv}", new { external_userid = new[] { cipher, "wmunknown" } });
        var result = mapping.GetProperty("result").EnumerateArray().ToList();
        result.Should().ContainSingle();
        result[0].Str("external_userid").Should().Be(cipher);
        result[0].Str("pending_id").Should().Be(pendingId);
        (await sandbox.PostAsync($"qyapi/cgi-bin/idconvert/batch/external_userid_to_pending_id?access_token={isv}", new { external_userid = Enumerable.Repeat(cipher, 101) })).ShouldBeError(40058);

        // pending ids live 90 days
        await sandbox.AdvanceAsync(91 * 86_400);
        var fresh = await sandbox.WeComTokenAsync("secret-isv-crm");
        (await sandbox.PostAsync($"qyapi/cgi-bin/idconvert/batch/external_userid_to_pending_id?access_token={fresh}", new { external_userid = new[] { cipher } }))
            .GetProperty("result").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Older_unionid_to_external_userid_needs_the_corp_subject_and_a_customer()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var truth = await sandbox.TruthAsync("alice");
        var isv = await sandbox.WeComTokenAsync("secret-isv-crm");
        var body = new { unionid = truth.GetProperty("unionids").Str("acme"), openid = truth.GetProperty("openids").Str(DemoWorld.MiniProgram) };
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/unionid_to_external_userid?access_token={isv}", body)).ShouldBeError(84061);
        var wrongSubject = new { unionid = body.unionid, openid = truth.GetProperty("openids").Str(DemoWorld.UnboundMiniProgram) };
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/unionid_to_external_userid?access_token={isv}", wrongSubject)).ShouldBeError(40058);
        await sandbox.ControlAsync("users/alice/wecom-add", new { corpid = Corp, userid = "zhangsan" });
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/unionid_to_external_userid?access_token={isv}", body)).Str("external_userid")
            .Should().Be(truth.GetProperty("external_userids").Str(Corp + "/isv1"));
        var otherCorpToken = await sandbox.WeComTokenAsync("secret-other-isv", TestWorlds.OtherCorp);
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/unionid_to_external_userid?access_token={otherCorpToken}", body)).ShouldBeError(845003);
    }

    [Fact]
    public async Task Id_conversions_between_app_kinds_openids_and_open_userids()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        await sandbox.ControlAsync("users/alice/wecom-add", new { corpid = Corp, userid = "zhangsan" });
        var truth = await sandbox.TruthAsync("alice");
        var plain = truth.GetProperty("external_userids").Str(Corp);
        var cipher = truth.GetProperty("external_userids").Str(Corp + "/isv1");
        var self = await sandbox.WeComTokenAsync("secret-crm");
        var isv = await sandbox.WeComTokenAsync("secret-isv-crm");

        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/from_service_external_userid?access_token={self}", new { external_userid = cipher, source_agentid = 1000003 }))
            .Str("external_userid").Should().Be(plain);
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/convert_to_openid?access_token={self}", new { external_userid = plain }))
            .Str("openid").Should().Be(truth.GetProperty("openids").Str(DemoWorld.OfficialAccount));
        (await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/convert_to_openid?access_token={isv}", new { external_userid = cipher })).ShouldBeError(48002);

        var fresh = await sandbox.PostAsync($"qyapi/cgi-bin/externalcontact/get_new_external_userid?access_token={isv}", new { external_userid_list = new[] { cipher, "wmnope" } });
        var item = fresh.GetProperty("items").EnumerateArray().Should().ContainSingle().Subject;
        item.Str("new_external_userid").Should().Be(cipher);

        var open = await sandbox.PostAsync($"qyapi/cgi-bin/batch/userid_to_openuserid?access_token={isv}", new { userid_list = new[] { "zhangsan", "ghost" } });
        var mapped = open.GetProperty("open_userid_list").EnumerateArray().Should().ContainSingle().Subject;
        mapped.Str("userid").Should().Be("zhangsan");
        mapped.Str("open_userid").Should().StartWith("wo").And.HaveLength(32);
        open.GetProperty("invalid_userid_list")[0].GetString().Should().Be("ghost");
        var otherProvider = await sandbox.PostAsync($"qyapi/cgi-bin/batch/userid_to_openuserid?access_token={await sandbox.WeComTokenAsync("secret-isv2-crm")}", new { userid_list = new[] { "zhangsan" } });
        otherProvider.GetProperty("open_userid_list")[0].Str("open_userid").Should().NotBe(mapped.Str("open_userid"), "open_userid is provider-level");

        // userid_list takes 1 to 1,000 userids a call (docs/wechat-api.md §6.12); outside that, 40031 (our choice of code).
        string Convert() => $"qyapi/cgi-bin/batch/userid_to_openuserid?access_token={isv}";
        var thousand = Enumerable.Range(0, 999).Select(i => $"gone{i}").Append("zhangsan").ToArray();
        var full = await sandbox.PostAsync(Convert(), new { userid_list = thousand });
        full.GetProperty("open_userid_list").EnumerateArray().Should().ContainSingle().Which.Str("open_userid").Should().Be(mapped.Str("open_userid"));
        full.GetProperty("invalid_userid_list").GetArrayLength().Should().Be(999);
        (await sandbox.PostAsync(Convert(), new { userid_list = thousand.Append("lisi").ToArray() })).ShouldBeError(40031);
        (await sandbox.PostAsync(Convert(), new { userid_list = Array.Empty<string>() })).ShouldBeError(40031);
        // An open_userid is not a userid: it is not converted again (listed as invalid).
        (await sandbox.PostAsync(Convert(), new { userid_list = new[] { mapped.Str("open_userid") } })).GetProperty("invalid_userid_list")[0].GetString()
            .Should().Be(mapped.Str("open_userid"));
    }

    [Fact]
    public async Task Suite_ticket_buys_a_suite_token_for_unionid_to_external_userid_3rd()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        var push = await sandbox.Receiver!.WaitForAsync(p => p.Path == "wecom/isv");
        push.Query["msg_signature"].Should().Be(CallbackOracle.Sha1Sorted(TestWorlds.CallbackToken, push.Query["timestamp"], push.Query["nonce"], CallbackOracle.Between(push.Body, "Encrypt")));
        var (xml, suiteId) = CallbackOracle.Decrypt(TestWorlds.SuiteAesKey, CallbackOracle.Between(push.Body, "Encrypt"));
        CallbackOracle.Between(xml, "InfoType").Should().Be("suite_ticket");
        CallbackOracle.Between(xml, "SuiteId").Should().Be(suiteId);
        var ticket = CallbackOracle.Between(xml, "SuiteTicket");

        (await sandbox.PostAsync("qyapi/cgi-bin/service/get_suite_token", new { suite_id = suiteId, suite_secret = "wrong", suite_ticket = ticket })).ShouldBeError(40091);
        (await sandbox.PostAsync("qyapi/cgi-bin/service/get_suite_token", new { suite_id = suiteId, suite_secret = "secret-isv-crm", suite_ticket = "forged" })).ShouldBeError(40085);
        var suiteToken = (await sandbox.PostAsync("qyapi/cgi-bin/service/get_suite_token", new { suite_id = suiteId, suite_secret = "secret-isv-crm", suite_ticket = ticket })).Str("suite_access_token");

        // isv1's subject is ISV Ltd: Acme's unionids do not convert (845003); a unionid of an ISV-subject space would.
        var acme = (await sandbox.TruthAsync("alice")).GetProperty("unionids").Str("acme");
        (await sandbox.PostAsync($"qyapi/cgi-bin/service/externalcontact/unionid_to_external_userid_3rd?suite_access_token={suiteToken}", new { unionid = acme })).ShouldBeError(845003);
        (await sandbox.PostAsync($"qyapi/cgi-bin/service/externalcontact/unionid_to_external_userid_3rd?suite_access_token={await sandbox.WeComTokenAsync("secret-isv-crm")}", new { unionid = acme })).ShouldBeError(40082);

        var world = JsonDocument.Parse(await sandbox.Http.GetStringAsync(new Uri("_sandbox/world", UriKind.Relative))).RootElement;
        world.GetProperty("corps")[0].GetProperty("apps")[1].Str("suite_id").Should().Be(suiteId);
        var fresh = (await sandbox.ControlAsync($"suites/{suiteId}/ticket")).Str("suite_ticket");
        fresh.Should().NotBe(ticket);
    }

    [Fact]
    public async Task Unionid_to_external_userid_3rd_lists_the_corps_where_the_person_is_a_customer()
    {
        var world = TestWorlds.Create();
        world.UnionSpaces.Add(new UnionSpace { Id = "isv-space", Subject = "ISV Ltd" });
        world.Apps.Add(new SandboxApp { Appid = "wx1500000000000001", Secret = "isv-mp", Type = AppTypes.MiniProgram, Subject = "ISV Ltd", UnionSpace = "isv-space" });
        await using var sandbox = await TestSandbox.StartAsync(world: world);
        var suiteId = world.Corps[0].Apps[1].SuiteId!;
        var ticket = (await sandbox.ControlAsync($"suites/{suiteId}/ticket")).Str("suite_ticket");
        var suiteToken = (await sandbox.PostAsync("qyapi/cgi-bin/service/get_suite_token", new { suite_id = suiteId, suite_secret = "secret-isv-crm", suite_ticket = ticket })).Str("suite_access_token");
        var truth = await sandbox.TruthAsync("bob");
        var body = new { unionid = truth.GetProperty("unionids").Str("isv-space"), openid = truth.GetProperty("openids").Str("wx1500000000000001") };
        string Url() => $"qyapi/cgi-bin/service/externalcontact/unionid_to_external_userid_3rd?suite_access_token={suiteToken}";

        (await sandbox.PostAsync(Url(), body)).GetProperty("external_userid_info").GetArrayLength().Should().Be(0);
        await sandbox.ControlAsync("users/bob/wecom-add", new { corpid = Corp, userid = "lisi" });
        await sandbox.ControlAsync("users/bob/wecom-add", new { corpid = TestWorlds.OtherCorp, userid = "wangwu" });
        var info = (await sandbox.PostAsync(Url(), body)).GetProperty("external_userid_info").EnumerateArray().ToList();
        var openCorp = (await sandbox.ProviderViewAsync(Corp, "isv1")).Str("open_corpid");
        var openOther = (await sandbox.ProviderViewAsync(TestWorlds.OtherCorp, "isv1")).Str("open_corpid");
        info.Select(i => i.Str("corpid")).Should().BeEquivalentTo([openCorp, openOther], "an upgraded provider sees open corpids");
        info.Single(i => i.Str("corpid") == openCorp).Str("external_userid").Should().Be(truth.GetProperty("external_userids").Str(Corp + "/isv1"));
        var one = (await sandbox.PostAsync(Url(), new { body.unionid, body.openid, corpid = TestWorlds.OtherCorp })).GetProperty("external_userid_info");
        one.GetArrayLength().Should().Be(1);
        one[0].Str("external_userid").Should().Be(truth.GetProperty("external_userids").Str(TestWorlds.OtherCorp + "/isv1"));
    }
}
