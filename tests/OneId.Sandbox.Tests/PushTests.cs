using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class PushTests
{
    [Fact]
    public async Task Follow_pushes_an_encrypted_signed_subscribe_event_and_unfollow_an_unsubscribe()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        var openid = (await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.OfficialAccount })).Str("openid");
        var push = await sandbox.Receiver!.WaitForAsync(p => p.Path == "oa");

        var q = push.Query;
        q["signature"].Should().Be(CallbackOracle.Sha1Sorted(TestWorlds.CallbackToken, q["timestamp"], q["nonce"]));
        q["openid"].Should().Be(openid);
        q["encrypt_type"].Should().Be("aes");
        var encrypt = CallbackOracle.Between(push.Body, "Encrypt");
        q["msg_signature"].Should().Be(CallbackOracle.Sha1Sorted(TestWorlds.CallbackToken, q["timestamp"], q["nonce"], encrypt));
        var (xml, receiveId) = CallbackOracle.Decrypt(TestWorlds.OaAesKey, encrypt);
        receiveId.Should().Be(DemoWorld.OfficialAccount);
        CallbackOracle.Between(xml, "ToUserName").Should().StartWith("gh_").And.Be(CallbackOracle.Between(push.Body, "ToUserName"));
        CallbackOracle.Between(xml, "FromUserName").Should().Be(openid);
        CallbackOracle.Between(xml, "MsgType").Should().Be("event");
        CallbackOracle.Between(xml, "Event").Should().Be("subscribe");
        long.Parse(CallbackOracle.Between(xml, "CreateTime"), System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThan(1_600_000_000);

        await sandbox.ControlAsync("users/bob/unfollow", new { appid = DemoWorld.OfficialAccount });
        var second = await sandbox.Receiver.WaitForAsync(p => p.Path == "oa", count: 2);
        CallbackOracle.Between(CallbackOracle.Decrypt(TestWorlds.OaAesKey, CallbackOracle.Between(second.Body, "Encrypt")).Message, "Event").Should().Be("unsubscribe");
    }

    [Fact]
    public async Task An_oa_run_by_a_platform_pushes_to_the_platforms_message_url_with_its_appid_and_key()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        var openid = (await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.AuthorizerOfficialAccount })).Str("openid");
        var push = await sandbox.Receiver!.WaitForAsync(p => p.Path == "platform/" + DemoWorld.AuthorizerOfficialAccount);

        // Signed and encrypted with the platform's token and key; the receiveid is the component appid, not the OA's.
        var q = push.Query;
        q["signature"].Should().Be(CallbackOracle.Sha1Sorted("componenttoken", q["timestamp"], q["nonce"]));
        q["encrypt_type"].Should().Be("aes");
        q["openid"].Should().Be(openid);
        var encrypt = CallbackOracle.Between(push.Body, "Encrypt");
        q["msg_signature"].Should().Be(CallbackOracle.Sha1Sorted("componenttoken", q["timestamp"], q["nonce"], encrypt));
        var (xml, receiveId) = CallbackOracle.Decrypt(TestWorlds.ComponentAesKey, encrypt);
        receiveId.Should().Be(DemoWorld.Component);
        CallbackOracle.Between(xml, "FromUserName").Should().Be(openid);
        CallbackOracle.Between(xml, "Event").Should().Be("subscribe");

        await sandbox.ControlAsync("users/bob/unfollow", new { appid = DemoWorld.AuthorizerOfficialAccount });
        var second = await sandbox.Receiver.WaitForAsync(p => p.Path == "platform/" + DemoWorld.AuthorizerOfficialAccount, count: 2);
        CallbackOracle.Between(CallbackOracle.Decrypt(TestWorlds.ComponentAesKey, CallbackOracle.Between(second.Body, "Encrypt")).Message, "Event").Should().Be("unsubscribe");

        // Once the OA revokes the authorization its pushes stop going to the platform (it has no server URL of its own here).
        await sandbox.ControlAsync($"components/{DemoWorld.Component}/unauthorize", new { authorizer_appid = DemoWorld.AuthorizerOfficialAccount });
        await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.AuthorizerOfficialAccount });
        sandbox.Running.Pushes.Records.Count(r => r.Url.Contains("/platform/", StringComparison.Ordinal)).Should().Be(2);
    }

    [Fact]
    public async Task Follow_through_a_parametric_qr_code_carries_the_scene()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true, oaEncrypted: false);
        var openid = (await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.OfficialAccount, qr_scene_str = "poster42" })).Str("openid");
        var push = await sandbox.Receiver!.WaitForAsync(p => p.Path == "oa");
        CallbackOracle.Between(push.Body, "EventKey").Should().Be("qrscene_poster42");
        CallbackOracle.Between(push.Body, "Ticket").Should().NotBeEmpty();
        var info = await sandbox.GetAsync($"cgi-bin/user/info?access_token={await sandbox.AppTokenAsync(DemoWorld.OfficialAccount)}&openid={openid}");
        info.Str("subscribe_scene").Should().Be("ADD_SCENE_QR_CODE");
        info.Str("qr_scene_str").Should().Be("poster42");
    }

    [Fact]
    public async Task Plain_mode_pushes_the_xml_signed_without_encryption()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true, oaEncrypted: false);
        await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.OfficialAccount });
        var push = await sandbox.Receiver!.WaitForAsync(p => p.Path == "oa");
        push.Query.Should().NotContainKey("encrypt_type").And.NotContainKey("msg_signature");
        push.Query["signature"].Should().Be(CallbackOracle.Sha1Sorted(TestWorlds.CallbackToken, push.Query["timestamp"], push.Query["nonce"]));
        CallbackOracle.Between(push.Body, "Event").Should().Be("subscribe");
    }

    [Fact]
    public async Task Wecom_add_pushes_change_external_contact_to_every_app_of_the_corp()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        await sandbox.ControlAsync("users/alice/wecom-add", new { corpid = DemoWorld.Corp, userid = "zhangsan", state = "s1" });
        var truth = await sandbox.TruthAsync("alice");

        var self = await sandbox.Receiver!.WaitForAsync(p => p.Path == "wecom/crm");
        self.Query.Should().NotContainKey("signature");
        var selfEncrypt = CallbackOracle.Between(self.Body, "Encrypt");
        self.Query["msg_signature"].Should().Be(CallbackOracle.Sha1Sorted(TestWorlds.CallbackToken, self.Query["timestamp"], self.Query["nonce"], selfEncrypt));
        CallbackOracle.Between(self.Body, "AgentID").Should().Be("1000002");
        var (selfXml, selfReceiver) = CallbackOracle.Decrypt(TestWorlds.WeComAesKey, selfEncrypt);
        selfReceiver.Should().Be(DemoWorld.Corp);
        CallbackOracle.Between(selfXml, "ToUserName").Should().Be(DemoWorld.Corp);
        CallbackOracle.Between(selfXml, "FromUserName").Should().Be("sys");
        CallbackOracle.Between(selfXml, "Event").Should().Be("change_external_contact");
        CallbackOracle.Between(selfXml, "ChangeType").Should().Be("add_external_contact");
        CallbackOracle.Between(selfXml, "UserID").Should().Be("zhangsan");
        CallbackOracle.Between(selfXml, "ExternalUserID").Should().Be(truth.GetProperty("external_userids").Str(DemoWorld.Corp));
        CallbackOracle.Between(selfXml, "State").Should().Be("s1");
        CallbackOracle.Between(selfXml, "WelcomeCode").Should().NotBeEmpty();

        var suite = await sandbox.Receiver.WaitForAsync(p => p.Path == "wecom/isv"
            && CallbackOracle.Decrypt(TestWorlds.SuiteAesKey, CallbackOracle.Between(p.Body, "Encrypt")).Message.Contains("change_external_contact", StringComparison.Ordinal));
        var (suiteXml, suiteReceiver) = CallbackOracle.Decrypt(TestWorlds.SuiteAesKey, CallbackOracle.Between(suite.Body, "Encrypt"));
        CallbackOracle.Between(suiteXml, "SuiteId").Should().Be(suiteReceiver).And.StartWith("ww");
        // An upgraded provider (the default) sees the open corpid and the member's open_userid.
        var view = await sandbox.ProviderViewAsync(DemoWorld.Corp, "isv1");
        CallbackOracle.Between(suiteXml, "AuthCorpId").Should().Be(view.Str("open_corpid")).And.StartWith("wp");
        CallbackOracle.Between(suiteXml, "UserID").Should().Be(view.GetProperty("open_userids").Str("zhangsan"));
        CallbackOracle.Between(suiteXml, "InfoType").Should().Be("change_external_contact");
        CallbackOracle.Between(suiteXml, "ExternalUserID").Should().Be(truth.GetProperty("external_userids").Str(DemoWorld.Corp + "/isv1"));

        await sandbox.ControlAsync("users/alice/wecom-del", new { corpid = DemoWorld.Corp, userid = "zhangsan" });
        var del = await sandbox.Receiver.WaitForAsync(p => p.Path == "wecom/crm", count: 2);
        CallbackOracle.Between(CallbackOracle.Decrypt(TestWorlds.WeComAesKey, CallbackOracle.Between(del.Body, "Encrypt")).Message, "ChangeType").Should().Be("del_follow_user");
    }

    [Fact]
    public async Task A_failing_receiver_gets_three_attempts_in_total()
    {
        await using var sandbox = await TestSandbox.StartAsync(withReceiver: true);
        sandbox.Receiver!.FailNext(2, "oa");
        await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.OfficialAccount });
        await sandbox.Receiver.WaitForAsync(p => p.Path == "oa", count: 3);
        await WaitForStatusAsync(sandbox, "subscribe", "delivered");

        sandbox.Receiver.FailNext(10, "oa");
        await sandbox.ControlAsync("users/bob/unfollow", new { appid = DemoWorld.OfficialAccount });
        await WaitForStatusAsync(sandbox, "unsubscribe", "failed");
        sandbox.Receiver.Received.Count(p => p.Path == "oa").Should().Be(6, "3 + 3 attempts");
        // Failed is final: no next attempt is scheduled, so there is never a fourth.
        var failed = sandbox.Running.Pushes.Records.Single(r => r.Event == "unsubscribe");
        failed.Attempts.Should().Be(3);
        failed.NextAttemptAt.Should().BeNull();
    }

    [Fact]
    public async Task A_receiver_slower_than_the_timeout_is_retried()
    {
        await using var sandbox = await TestSandbox.StartAsync(o => o.PushTimeout = TimeSpan.FromMilliseconds(300), withReceiver: true);
        sandbox.Receiver!.Stall = TimeSpan.FromSeconds(2);
        await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.OfficialAccount });
        await sandbox.Receiver.WaitForAsync(p => p.Path == "oa", count: 2);
        sandbox.Running.Pushes.Records.Single(r => r.Event == "subscribe").LastError.Should().Contain("no answer");
    }

    [Fact]
    public async Task Retries_wait_in_sandbox_time_so_advancing_the_clock_hurries_them()
    {
        await using var sandbox = await TestSandbox.StartAsync(o => o.PushRetryDelay = TimeSpan.FromHours(1), withReceiver: true);
        sandbox.Receiver!.FailNext(1, "oa");
        var followedAt = sandbox.Running.Clock.GetUtcNow();
        await sandbox.ControlAsync("users/bob/follow", new { appid = DemoWorld.OfficialAccount });
        await sandbox.Receiver.WaitForAsync(p => p.Path == "oa");
        // The failed attempt schedules the retry an hour later in sandbox time, which stands still until advanced.
        var pending = await OneId.Testing.Eventually.ValueAsync(() => Task.FromResult(sandbox.Running.Pushes.Records.Single(r => r.Event == "subscribe")),
            r => r.LastError is not null, "the first attempt failed");
        pending.Status.Should().Be("pending");
        pending.NextAttemptAt.Should().BeOnOrAfter(followedAt + TimeSpan.FromHours(1));
        sandbox.Receiver.Received.Count(p => p.Path == "oa").Should().Be(1);
        await sandbox.AdvanceAsync(3600);
        await sandbox.Receiver.WaitForAsync(p => p.Path == "oa", count: 2);
        await WaitForStatusAsync(sandbox, "subscribe", "delivered");
    }

    private static Task WaitForStatusAsync(TestSandbox sandbox, string @event, string status) =>
        OneId.Testing.Eventually.TrueAsync(async () =>
            System.Text.Json.JsonDocument.Parse(await sandbox.Http.GetStringAsync(new Uri("_sandbox/pushes", UriKind.Relative))).RootElement
                .EnumerateArray().Any(r => r.Str("event") == @event && r.Str("status") == status), $"push {@event} reaches {status}");
}
