using System.Text.Json.Nodes;
using FluentAssertions;
using OneId.Sandbox.World;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;
using OneId.WeChat.Tests.Support;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Clients;

public sealed class WeComTests(SandboxWeChat wx) : IClassFixture<SandboxWeChat>
{
    private static readonly CorpId Corp = CorpId.Parse(DemoWorld.Corp);
    private static readonly TokenKey SelfBuilt = TokenKey.WeCom(Corp, DemoWorld.SelfBuiltApp);
    private static readonly TokenKey Provider = TokenKey.WeCom(Corp, DemoWorld.ProviderApp);

    private async Task<(string User, JsonObject Truth)> CustomerAsync(string member = "zhangsan")
    {
        var user = await wx.NewUserAsync();
        await wx.ControlAsync($"_sandbox/users/{user}/wecom-add", new JsonObject { ["corpid"] = Corp.Value, ["userid"] = member });
        return (user, await wx.TruthAsync(user));
    }

    [Fact]
    public async Task Self_built_app_lists_gets_and_batch_gets_customers_with_their_unionid()
    {
        using var host = wx.NewHost();
        var client = host.Get<WeComClient>();
        var (_, truth) = await CustomerAsync();
        var external = truth["external_userids"]![Corp.Value]!.GetValue<string>();

        var list = await client.ListExternalContactsAsync(SelfBuilt, "zhangsan");
        var detail = await client.GetExternalContactAsync(SelfBuilt, ExternalUserId.Parse(external));
        var batch = await client.BatchGetByUserAsync(SelfBuilt, ["zhangsan"], limit: 500);

        list.Select(e => e.Value).Should().Contain(external);
        detail.ExternalContact.ExternalUserId.Value.Should().Be(external);
        detail.ExternalContact.Type.Should().Be(1);
        detail.ExternalContact.UnionId!.Value.Value.Should().Be(truth["unionids"]![DemoWorld.UnionSpace]!.GetValue<string>());
        detail.FollowUsers.Should().Contain(f => f.UserId == "zhangsan");
        batch.Items.Should().Contain(i => i.ExternalContact.ExternalUserId.Value == external && i.FollowInfo!.UserId == "zhangsan");
    }

    [Fact]
    public async Task Provider_app_converts_unionids_to_external_userids_or_pending_ids()
    {
        using var host = wx.NewHost();
        var client = host.Get<WeComClient>();
        var (_, customer) = await CustomerAsync();
        var prospect = await wx.NewUserAsync();
        var prospectTruth = await wx.TruthAsync(prospect);
        UnionId Union(JsonObject t) => UnionId.Parse(t["unionids"]![DemoWorld.UnionSpace]!.GetValue<string>());
        OpenId MpOpenId(JsonObject t) => OpenId.Parse(t["openids"]![DemoWorld.MiniProgram]!.GetValue<string>());

        var known = await client.UnionIdToExternalUserIdAsync(Provider, Union(customer), MpOpenId(customer), UnionIdSubjectType.Corp);
        var pending = await client.UnionIdToExternalUserIdAsync(Provider, Union(prospectTruth), MpOpenId(prospectTruth), UnionIdSubjectType.Corp);

        known.ExternalUserId!.Value.Value.Should().Be(customer["external_userids"]![$"{Corp.Value}/isv1"]!.GetValue<string>());
        known.ExternalUserId!.Value.Value.Should().NotBe(customer["external_userids"]![Corp.Value]!.GetValue<string>(), "provider ids are ciphertext");
        pending.ExternalUserId.Should().BeNull();
        pending.PendingId.Should().NotBeNull();

        // The prospect becomes a customer: the provider's external_userid maps back to the pending_id.
        await wx.ControlAsync($"_sandbox/users/{prospect}/wecom-add", new JsonObject { ["corpid"] = Corp.Value, ["userid"] = "lisi" });
        var nowCustomer = await wx.TruthAsync(prospect);
        var providerId = ExternalUserId.Parse(nowCustomer["external_userids"]![$"{Corp.Value}/isv1"]!.GetValue<string>());
        var mapped = await client.ExternalUserIdToPendingIdAsync(Provider, [providerId]);
        mapped.Result.Should().ContainSingle(r => r.ExternalUserId == providerId).Which.PendingId.Should().Be(pending.PendingId);
    }

    [Fact]
    public async Task Legacy_conversion_returns_the_provider_external_userid()
    {
        using var host = wx.NewHost();
        var (_, customer) = await CustomerAsync();

        var result = await host.Get<WeComClient>().UnionIdToExternalUserIdLegacyAsync(Provider,
            UnionId.Parse(customer["unionids"]![DemoWorld.UnionSpace]!.GetValue<string>()),
            OpenId.Parse(customer["openids"]![DemoWorld.MiniProgram]!.GetValue<string>()));

        result.ExternalUserId.Value.Should().Be(customer["external_userids"]![$"{Corp.Value}/isv1"]!.GetValue<string>());
    }

    [Fact]
    public async Task Id_migration_and_conversion_calls()
    {
        using var host = wx.NewHost();
        var client = host.Get<WeComClient>();
        var (_, truth) = await CustomerAsync();
        var plain = ExternalUserId.Parse(truth["external_userids"]![Corp.Value]!.GetValue<string>());
        var provider = ExternalUserId.Parse(truth["external_userids"]![$"{Corp.Value}/isv1"]!.GetValue<string>());

        var upgraded = await client.GetNewExternalUserIdAsync(Provider, [provider]);
        var fromService = await client.FromServiceExternalUserIdAsync(SelfBuilt, provider, 1000003);
        var openId = await client.ConvertToOpenIdAsync(SelfBuilt, plain);
        var openUserIds = await client.UserIdToOpenUserIdAsync(Provider, ["zhangsan", "ghost"]);

        upgraded.Items.Should().ContainSingle(i => i.ExternalUserId == provider).Which.NewExternalUserId.Should().Be(provider, "the sandbox's provider ids are already upgraded");
        fromService.ExternalUserId.Should().Be(plain);
        openId.OpenId.Value.Should().Be(truth["openids"]![DemoWorld.OfficialAccount]!.GetValue<string>());
        openUserIds.Items.Should().ContainSingle(i => i.UserId == "zhangsan").Which.OpenUserId.Should().NotBe("zhangsan");
        openUserIds.InvalidUserIds.Should().Equal("ghost");
        var providerCannot = () => client.ConvertToOpenIdAsync(Provider, provider);
        (await providerCannot.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(48002);
    }

    [Fact]
    public async Task Error_paths_carry_wecom_errcodes()
    {
        using var host = wx.NewHost();
        var client = host.Get<WeComClient>();

        var unknown = () => client.GetExternalContactAsync(SelfBuilt, ExternalUserId.Parse("wmNoSuchCustomer000000000000000"));
        var notMember = () => client.ListExternalContactsAsync(SelfBuilt, "nobody");
        (await unknown.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(40096);
        (await notMember.Should().ThrowAsync<WeChatApiException>()).Which.ErrCode.Should().Be(60111);
        var tooMany = () => client.BatchGetByUserAsync(SelfBuilt, Enumerable.Range(0, 101).Select(i => "m" + i).ToArray());
        await tooMany.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task A_wrong_corp_secret_is_a_permanent_error()
    {
        using var host = wx.NewHost(more: o => o.WeComApps.Add(new WeComAppCredential { CorpId = Corp.Value, Agent = "bad", Secret = "wrong" }));

        var act = () => host.Tokens.GetTokenAsync(TokenKey.WeCom(Corp, "bad")).AsTask();

        var error = (await act.Should().ThrowAsync<WeChatApiException>()).Which;
        error.ErrCode.Should().Be(40001);
        error.IsTransient.Should().BeFalse();
        error.Message.Should().NotContain("wrong");
    }
}

public sealed class LifecycleClientTests(SandboxWeChat wx) : IClassFixture<SandboxWeChat>
{
    private static readonly CorpId Corp = CorpId.Parse(DemoWorld.Corp);
    private static readonly TokenKey SelfBuilt = TokenKey.WeCom(Corp, DemoWorld.SelfBuiltApp);
    private static readonly TokenKey Provider = TokenKey.WeCom(Corp, DemoWorld.ProviderApp);
    private static readonly AppId Oa = AppId.Parse(DemoWorld.OfficialAccount);

    [Fact]
    public async Task Follow_user_list_and_contact_way_state_round_trip()
    {
        using var host = wx.NewHost();
        var client = host.Get<WeComClient>();
        (await client.GetFollowUserListAsync(SelfBuilt)).Should().Equal("zhangsan", "lisi");
        var open = await client.GetFollowUserListAsync(Provider);
        open.Should().HaveCount(2).And.OnlyContain(id => id.StartsWith("wo", StringComparison.Ordinal), "an upgraded provider sees open_userids");

        var way = await client.AddContactWayAsync(SelfBuilt, ["lisi"], "flyer-3");
        way.ConfigId.Should().NotBeEmpty();
        way.QrCode.Should().NotBeNullOrEmpty();
        var user = await wx.NewUserAsync();
        await wx.ControlAsync($"_sandbox/users/{user}/contact-way", new JsonObject { ["config_id"] = way.ConfigId });
        var external = (await wx.TruthAsync(user))["external_userids"]![Corp.Value]!.GetValue<string>();
        var detail = await client.GetExternalContactAsync(SelfBuilt, ExternalUserId.Parse(external));
        detail.FollowUsers.Should().ContainSingle(f => f.UserId == "lisi" && f.State == "flyer-3");
        await FluentActions.Invoking(() => client.AddContactWayAsync(SelfBuilt, ["lisi"], new string('s', 31))).Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task Provider_token_converts_the_corpid_to_the_open_corpid()
    {
        using var host = wx.NewHost();
        var client = host.Get<WeComClient>();
        var index = await wx.GetAsync("_sandbox");
        var provider = index["corps"]![0]!["providers"]!["isv1"]!;
        var token = await client.GetProviderTokenAsync(CorpId.Parse(provider["provider_corpid"]!.GetValue<string>()), "secret-isv1");
        token.ExpiresIn.Should().Be(7200);
        var open = await client.CorpIdToOpenCorpIdAsync(token.ProviderAccessToken, Corp);
        open.OpenCorpId.Value.Should().Be(provider["open_corpid"]!.GetValue<string>()).And.StartWith("wp");
        var failure = await FluentActions.Invoking(() => client.GetProviderTokenAsync(CorpId.Parse(provider["provider_corpid"]!.GetValue<string>()), "wrong"))
            .Should().ThrowAsync<WeChatApiException>();
        failure.Which.ErrCode.Should().Be(40001);
    }

    [Fact]
    public async Task Qr_codes_and_changeopenid_speak_the_wire_format()
    {
        using var host = wx.NewHost();
        var oa = host.Get<OfficialAccountClient>();
        var temporary = await oa.CreateQrCodeAsync(TokenKey.App(Oa), "poster-1", null, permanent: false, expireSeconds: 600);
        temporary.Ticket.Should().StartWith("gQ");
        temporary.ExpireSeconds.Should().Be(600);
        var permanent = await oa.CreateQrCodeAsync(TokenKey.App(Oa), null, 7, permanent: true);
        permanent.ExpireSeconds.Should().BeNull();
        var user = await wx.NewUserAsync();
        var openid = (await wx.ControlAsync($"_sandbox/users/{user}/scan", new JsonObject { ["ticket"] = permanent.Ticket }))["openid"]!.GetValue<string>();
        var info = await oa.GetUserInfoAsync(TokenKey.App(Oa), OpenId.Parse(openid));
        info.QrScene.Should().Be(7);
        info.SubscribeScene.Should().Be("ADD_SCENE_QR_CODE");

        // No migration from the authorizer OA into this one: the sandbox answers 40013.
        var failure = await FluentActions.Invoking(() => oa.ChangeOpenIdAsync(TokenKey.App(Oa), AppId.Parse(DemoWorld.AuthorizerOfficialAccount), [OpenId.Parse(openid)]))
            .Should().ThrowAsync<WeChatApiException>();
        failure.Which.ErrCode.Should().Be(40013);
        await FluentActions.Invoking(() => oa.ChangeOpenIdAsync(TokenKey.App(Oa), Oa, [])).Should().ThrowAsync<ArgumentOutOfRangeException>();

        // After a migration of the authorizer OA into this one, its followers' openids map over.
        var old = AppId.Parse(DemoWorld.AuthorizerOfficialAccount);
        var follower = await wx.NewUserAsync();
        var oldOpenId = (await wx.ControlAsync($"_sandbox/users/{follower}/follow", new JsonObject { ["appid"] = old.Value }))["openid"]!.GetValue<string>();
        await wx.ControlAsync($"_sandbox/apps/{old.Value}/migrate", new JsonObject { ["to_appid"] = Oa.Value });
        var changes = await oa.ChangeOpenIdAsync(TokenKey.App(Oa), old, [OpenId.Parse(oldOpenId), OpenId.Parse(openid)]);
        changes.Results![0].Succeeded.Should().BeTrue();
        changes.Results[0].NewOpenId.Should().Be((await wx.TruthAsync(follower))["openids"]![Oa.Value]!.GetValue<string>());
        changes.Results[1].Succeeded.Should().BeFalse();
        changes.Results[1].ErrMsg.Should().Be("ori_openid error");
    }
}
