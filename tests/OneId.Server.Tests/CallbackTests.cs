using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using OneId.Graph;
using OneId.DemoWiring;
using OneId.Server.Tenants;
using OneId.Testing;
using OneId.WeChat.Crypto;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>The callback endpoints as WeChat (and an attacker) would call them.</summary>
public sealed class CallbackTests(SandboxHubFixture f) : IClassFixture<SandboxHubFixture>
{
    private static readonly string OaPath = $"v1/callbacks/oa/{Demo.OfficialAccount}";
    private static readonly string CrmPath = $"v1/callbacks/wecom/{Demo.Corp}/{Demo.SelfBuiltApp}";
    private static readonly string IsvPath = $"v1/callbacks/wecom/{Demo.Corp}/{Demo.ProviderApp}";

    // Pushes carry the hub's current time (outside callback_window_seconds they are refused) and, like WeChat's, a new
    // nonce each (a nonce that comes back with another body is a replay). One test's pushes share these.
    private readonly string Ts = f.Running.Hub.Services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
    private readonly string Nonce = Guid.NewGuid().ToString("N")[..10];
    private string SignedQuery => $"signature={WeChatSignature.ComputeCallback(SandboxMode.OaToken, Ts, Nonce)}&timestamp={Ts}&nonce={Nonce}";

    private string FreshQuery()
    {
        var nonce = Guid.NewGuid().ToString("N")[..10];
        return $"signature={WeChatSignature.ComputeCallback(SandboxMode.OaToken, Ts, nonce)}&timestamp={Ts}&nonce={nonce}";
    }

    private string EncryptedQuery(string xml, out string body)
    {
        var nonce = Guid.NewGuid().ToString("N")[..10];
        var sealedMsg = new WeChatMessageCrypto(SandboxMode.OaToken, SandboxMode.OaAesKey, Demo.OfficialAccount).Encrypt(xml, Ts, nonce);
        body = WeChatMessageCrypto.BuildEncryptedBody("gh_0123456789ab", sealedMsg.Encrypt);
        return $"signature={WeChatSignature.ComputeCallback(SandboxMode.OaToken, Ts, nonce)}&timestamp={Ts}&nonce={nonce}&encrypt_type=aes&msg_signature={sealedMsg.MsgSignature}";
    }

    private IGraphStore Graph => f.Running.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!.Graph;

    private IRelationshipStore Relationships => f.Running.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!.Relationships;

    private static string Subscribe(string openid, long createTime) =>
        $"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>";

    private static StringContent Xml(string body) => new(body, Encoding.UTF8, "text/xml");

    [Fact]
    public async Task Oa_url_verification_answers_the_echostr_exactly()
    {
        using var hub = f.Hub();
        var r = await hub.GetAsync($"{OaPath}?{SignedQuery}&echostr=12345+abc");
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        r.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        (await r.Content.ReadAsByteArrayAsync()).Should().Equal(Encoding.UTF8.GetBytes("12345 abc"));

        (await hub.GetAsync($"{OaPath}?signature=0000&timestamp={Ts}&nonce={Nonce}&echostr=x")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await hub.GetAsync($"{OaPath}?timestamp={Ts}")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await hub.GetAsync($"v1/callbacks/oa/wx9999999999999999?{SignedQuery}&echostr=x")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Oa_push_with_forged_signature_changes_nothing()
    {
        var user = await f.NewUserAsync("forge");
        var openid = (await f.SandboxAsync($"_sandbox/users/{user}")).GetProperty("openids").GetProperty(Demo.OfficialAccount).GetString()!;
        using var hub = f.Hub();
        var r = await hub.PostAsync($"{OaPath}?signature={new string('a', 40)}&timestamp={Ts}&nonce={Nonce}", Xml(Subscribe(openid, 1)));
        r.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Graph.FindAsync(Identifier.Parse($"openid:{Demo.OfficialAccount}:{openid}"), default)).Should().BeNull();

        // Safe mode: a valid plain signature but a forged msg_signature over the ciphertext.
        var crypto = new WeChatMessageCrypto(SandboxMode.OaToken, SandboxMode.OaAesKey, Demo.OfficialAccount);
        var sealedMsg = crypto.Encrypt(Subscribe(openid, 2), Ts, Nonce);
        var safe = await hub.PostAsync($"{OaPath}?{SignedQuery}&encrypt_type=aes&msg_signature={new string('b', 40)}",
            Xml(WeChatMessageCrypto.BuildEncryptedBody("gh_0123456789ab", sealedMsg.Encrypt)));
        safe.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await Graph.FindAsync(Identifier.Parse($"openid:{Demo.OfficialAccount}:{openid}"), default)).Should().BeNull();
    }

    [Fact]
    public async Task Oa_push_is_processed_once_however_often_WeChat_retries_it()
    {
        var user = await f.NewUserAsync("retry");
        var truth = await f.SandboxAsync($"_sandbox/users/{user}");
        var openid = truth.GetProperty("openids").GetProperty(Demo.OfficialAccount).GetString()!;
        var unionid = Identifier.Parse($"unionid:{Demo.UnionSpace}:{truth.GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()}");
        var openidId = Identifier.Parse($"openid:{Demo.OfficialAccount}:{openid}");
        // A real follow (user/info then reports subscribe=1 and the unionid); the sandbox pushes its own event too.
        await f.SandboxAsync($"_sandbox/users/{user}/follow", new { appid = Demo.OfficialAccount });
        var person = await Eventually.ValueAsync(() => Graph.FindAsync(openidId, default), p => p?.Identifiers.Contains(unionid) == true,
            "the follow linked the openid to the unionid");
        await f.InboxDrainedAsync();
        int Subscribes(IReadOnlyList<ObservationRecord> o) => o.Count(x => x.Source.StartsWith("oa.subscribe", StringComparison.Ordinal));
        var before = Subscribes(await Graph.GetObservationsAsync(person!.Id, default));

        var crypto = new WeChatMessageCrypto(SandboxMode.OaToken, SandboxMode.OaAesKey, Demo.OfficialAccount);
        var sealedMsg = crypto.Encrypt(Subscribe(openid, 1700000123), Ts, Nonce);
        var body = WeChatMessageCrypto.BuildEncryptedBody("gh_0123456789ab", sealedMsg.Encrypt);
        using var hub = f.Hub();
        for (var i = 0; i < 3; i++)
        {
            var r = await hub.PostAsync($"{OaPath}?{SignedQuery}&encrypt_type=aes&msg_signature={sealedMsg.MsgSignature}", Xml(body));
            r.StatusCode.Should().Be(HttpStatusCode.OK);
            (await r.Content.ReadAsStringAsync()).Should().Be("success");
        }
        await f.InboxDrainedAsync();
        Subscribes(await Graph.GetObservationsAsync(person!.Id, default)).Should().Be(before + 1, "three deliveries of one event are processed once");
    }

    [Fact]
    public async Task Oa_unsubscribe_in_safe_mode_is_recorded_as_a_follow_state_and_creates_no_person()
    {
        var user = await f.NewUserAsync("unsub");
        var openid = (await f.SandboxAsync($"_sandbox/users/{user}")).GetProperty("openids").GetProperty(Demo.OfficialAccount).GetString()!;
        var xml = Subscribe(openid, 1700000500).Replace("subscribe", "unsubscribe", StringComparison.Ordinal);
        using var hub = f.Hub();
        var r = await hub.PostAsync($"{OaPath}?{EncryptedQuery(xml, out var body)}&openid={openid}", Xml(body));
        (await r.Content.ReadAsStringAsync()).Should().Be("success");
        await f.InboxDrainedAsync();
        var openidId = Identifier.Parse($"openid:{Demo.OfficialAccount}:{openid}");
        (await Graph.FindAsync(openidId, default)).Should().BeNull("an unfollow from an openid the hub never saw creates no person");
        var follows = (await Relationships.GetAsync([openidId], default)).Follows;
        follows.Should().ContainSingle().Which.Following.Should().BeFalse();
        follows[0].Since.Should().Be(DateTimeOffset.FromUnixTimeSeconds(1700000500), "the state holds from the push's CreateTime");
        // Text messages and other events are acknowledged and change nothing.
        var text = $"<xml><ToUserName>gh_x</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1234</MsgId></xml>";
        (await (await hub.PostAsync($"{OaPath}?{EncryptedQuery(text, out var textBody)}", Xml(textBody))).Content.ReadAsStringAsync()).Should().Be("success");
    }

    [Fact]
    public async Task In_safe_mode_a_plaintext_push_with_a_valid_signature_is_refused_and_creates_nobody()
    {
        // The bypass: the plain signature covers token, timestamp and nonce, not the body, so one captured push URL
        // would let anyone forge events for invented openids.
        var invented = "oInventedInventedInventedInv";
        var xml = Subscribe(invented, 1700000600).Replace("subscribe", "unsubscribe", StringComparison.Ordinal);
        using var hub = f.Hub();

        var r = await hub.PostAsync($"{OaPath}?{FreshQuery()}&openid={invented}", Xml(xml));

        r.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        r.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        (await Graph.FindAsync(Identifier.Parse($"openid:{Demo.OfficialAccount}:{invented}"), default)).Should().BeNull();
    }

    [Theory]
    [InlineData("<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><FromUserName>&x;</FromUserName></xml>")]
    [InlineData("<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><xml><a>&lol2;</a></xml>")]
    [InlineData("<xml><FromUserName>unterminated")]
    public async Task Dtd_entity_and_malformed_payloads_are_refused(string payload)
    {
        using var hub = f.Hub();
        var r = await hub.PostAsync($"{OaPath}?{EncryptedQuery(payload, out var body)}", Xml(body));
        r.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await r.Content.ReadAsStringAsync()).Should().NotContain("root:");
    }

    [Fact]
    public async Task Oversize_bodies_are_refused_without_processing()
    {
        using var hub = f.Hub();
        var huge = "<xml><Junk>" + new string('a', 200_000) + "</Junk></xml>";
        (await hub.PostAsync($"{OaPath}?{SignedQuery}", Xml(huge))).StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task WeCom_url_verification_decrypts_the_echostr()
    {
        var crypto = new WeChatMessageCrypto(SandboxMode.CrmToken, SandboxMode.CrmAesKey, Demo.Corp);
        var echo = crypto.Encrypt("echo-5931", Ts, Nonce);
        using var hub = f.Hub();
        var r = await hub.GetAsync($"{CrmPath}?msg_signature={echo.MsgSignature}&timestamp={Ts}&nonce={Nonce}&echostr={Uri.EscapeDataString(echo.Encrypt)}");
        r.StatusCode.Should().Be(HttpStatusCode.OK);
        (await r.Content.ReadAsStringAsync()).Should().Be("echo-5931");

        var forged = await hub.GetAsync($"{CrmPath}?msg_signature={new string('c', 40)}&timestamp={Ts}&nonce={Nonce}&echostr={Uri.EscapeDataString(echo.Encrypt)}");
        forged.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        // The self-built app's ciphertext is bound to the corpid; the provider app expects its suite_id.
        var wrongReceiver = await hub.GetAsync($"{IsvPath}?msg_signature={WeChatSignature.ComputeMessage(SandboxMode.IsvToken, Ts, Nonce, new WeChatMessageCrypto(SandboxMode.IsvToken, SandboxMode.IsvAesKey, Demo.Corp).Encrypt("x", Ts, Nonce).Encrypt)}&timestamp={Ts}&nonce={Nonce}&echostr=x");
        wrongReceiver.StatusCode.Should().NotBe(HttpStatusCode.OK);
        (await hub.GetAsync($"v1/callbacks/wecom/{Demo.Corp}/nope?msg_signature=a&timestamp=1&nonce=1&echostr=x")).StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task WeCom_push_links_the_contact_once()
    {
        var user = await f.NewUserAsync("crm");
        var truth = await f.SandboxAsync($"_sandbox/users/{user}");
        var ext = truth.GetProperty("external_userids").GetProperty(Demo.Corp).GetString()!;
        var unionid = Identifier.Parse($"unionid:{Demo.UnionSpace}:{truth.GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()}");
        var extId = Identifier.Parse($"external_userid:{Demo.Corp}:{ext}");
        // The sandbox makes the user a customer and pushes its own event; wait until the hub has processed it.
        await f.SandboxAsync($"_sandbox/users/{user}/wecom-add", new { corpid = Demo.Corp, userid = "zhangsan" });
        var person = await Eventually.ValueAsync(() => Graph.FindAsync(extId, default), p => p?.Identifiers.Contains(unionid) == true,
            "S9: externalcontact/get gave the unionid to the self-built app");
        await f.InboxDrainedAsync();
        int Contacts(IReadOnlyList<ObservationRecord> o) => o.Count(x => x.Source.StartsWith($"wecom.contact:{Demo.Corp}/{Demo.SelfBuiltApp}", StringComparison.Ordinal));
        var before = Contacts(await Graph.GetObservationsAsync(person!.Id, default));

        // WeChat's retry of one event (same CreateTime), delivered twice.
        var xml = $"<xml><ToUserName><![CDATA[{Demo.Corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000999</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[lisi]]></UserID><ExternalUserID><![CDATA[{ext}]]></ExternalUserID></xml>";
        var crypto = new WeChatMessageCrypto(SandboxMode.CrmToken, SandboxMode.CrmAesKey, Demo.Corp);
        var sealedMsg = crypto.Encrypt(xml, Ts, Nonce);
        using var hub = f.Hub();
        for (var i = 0; i < 2; i++)
        {
            var r = await hub.PostAsync($"{CrmPath}?msg_signature={sealedMsg.MsgSignature}&timestamp={Ts}&nonce={Nonce}",
                Xml(WeChatMessageCrypto.BuildEncryptedBody(Demo.Corp, sealedMsg.Encrypt, "1000002")));
            (await r.Content.ReadAsStringAsync()).Should().Be("success");
        }
        await f.InboxDrainedAsync();
        Contacts(await Graph.GetObservationsAsync(person!.Id, default)).Should().Be(before + 1, "two deliveries of one event are processed once");
    }

    [Fact]
    public async Task Component_push_with_forged_signature_is_refused()
    {
        using var hub = f.Hub();
        var crypto = new WeChatMessageCrypto(SandboxMode.ComponentToken, SandboxMode.ComponentAesKey, Demo.Component);
        var sealedMsg = crypto.Encrypt($"<xml><AppId>{Demo.Component}</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>forged</ComponentVerifyTicket></xml>", Ts, Nonce);
        var r = await hub.PostAsync($"v1/callbacks/component/{Demo.Component}?timestamp={Ts}&nonce={Nonce}&encrypt_type=aes&msg_signature={new string('d', 40)}",
            Xml(WeChatMessageCrypto.BuildEncryptedBody(Demo.Component, sealedMsg.Encrypt)));
        r.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var ok = await hub.PostAsync($"v1/callbacks/component/{Demo.Component}?timestamp={Ts}&nonce={Nonce}&encrypt_type=aes&msg_signature={sealedMsg.MsgSignature}",
            Xml(WeChatMessageCrypto.BuildEncryptedBody(Demo.Component, sealedMsg.Encrypt)));
        (await ok.Content.ReadAsStringAsync()).Should().Be("success");
    }
}
