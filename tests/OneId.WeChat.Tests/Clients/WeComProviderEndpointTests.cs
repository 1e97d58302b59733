using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OneId.WeChat.Clients;
using OneId.WeChat.Ids;
using OneId.WeChat.Tests.Support;
using OneId.WeChat.Tokens;
using Xunit;

namespace OneId.WeChat.Tests.Clients;

/// <summary>
/// WeCom endpoints the sandbox does not play (provider and migration calls, §6.8–§6.13): the request each method sends
/// (path, token parameter, body) and how the answer is read.
/// </summary>
public sealed class WeComProviderEndpointTests
{
    private static readonly CorpId Corp = CorpId.Parse("wwacme000000000001");
    private static readonly ExternalUserId Old = ExternalUserId.Parse("wmOLD0000000000000000000000000001");
    private static readonly ExternalUserId New = ExternalUserId.Parse("wmNEW0000000000000000000000000001");
    private static readonly UnionId Union = UnionId.Parse("ocMvos6NjeKLIBqg5Mr9QjxrP1FA");
    private static readonly OpenId Open = OpenId.Parse("oGZUI0egBJY1zhBYw2KhdUfwVJJE");

    private static (WeChatTestHost Host, FakeWeChat Server) Host()
    {
        var server = new FakeWeChat()
            .On("cgi-bin/gettoken", "{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"CORP-TOKEN\",\"expires_in\":7200}")
            .On("cgi-bin/externalcontact/get_new_external_userid", $"{{\"errcode\":0,\"errmsg\":\"ok\",\"items\":[{{\"external_userid\":\"{Old.Value}\",\"new_external_userid\":\"{New.Value}\"}}]}}")
            .On("cgi-bin/externalcontact/groupchat/get_new_external_userid", $"{{\"errcode\":0,\"errmsg\":\"ok\",\"items\":[{{\"external_userid\":\"{Old.Value}\",\"new_external_userid\":\"{New.Value}\"}}]}}")
            .On("cgi-bin/service/externalcontact/unionid_to_external_userid_3rd", $"{{\"errcode\":0,\"errmsg\":\"ok\",\"external_userid_info\":[{{\"corpid\":\"wpeLYSDAAAKOr67pu-1-HMtwJTV5dkLQ\",\"external_userid\":\"{New.Value}\"}}]}}")
            .On("cgi-bin/service/externalcontact/finish_external_userid_migration", "{\"errcode\":0,\"errmsg\":\"ok\"}")
            .On("cgi-bin/service/finish_openid_migration", "{\"errcode\":0,\"errmsg\":\"ok\"}")
            .On("cgi-bin/service/corpid_to_opencorpid", "{\"errcode\":0,\"errmsg\":\"ok\",\"open_corpid\":\"wpeLYSDAAAKOr67pu-1-HMtwJTV5dkLQ\"}")
            .On("cgi-bin/batch/userid_to_openuserid", "{\"errcode\":0,\"errmsg\":\"ok\",\"open_userid_list\":[{\"userid\":\"zhangsan\",\"open_userid\":\"woZS\"}],\"invalid_userid_list\":[\"ghost\"]}")
            .On("cgi-bin/externalcontact/to_service_external_userid", $"{{\"errcode\":0,\"errmsg\":\"ok\",\"external_userid\":\"{New.Value}\"}}")
            .On("cgi-bin/externalcontact/from_service_external_userid", $"{{\"errcode\":0,\"errmsg\":\"ok\",\"external_userid\":\"{Old.Value}\"}}")
            .On("cgi-bin/externalcontact/convert_to_openid", $"{{\"errcode\":0,\"errmsg\":\"ok\",\"openid\":\"{Open.Value}\"}}")
            .On("cgi-bin/corpgroup/batch/external_userid_to_pending_id", $"{{\"errcode\":0,\"errmsg\":\"ok\",\"result\":[{{\"external_userid\":\"{Old.Value}\",\"pending_id\":\"p123\"}}]}}");
        var host = new WeChatTestHost(o =>
        {
            o.WeComBaseAddress = new Uri("http://qyapi.test/");
            o.WeComApps.Add(new WeComAppCredential { CorpId = Corp.Value, Agent = "isv", Secret = "s" });
        }, primary: server);
        return (host, server);
    }

    private static JsonElement Body(FakeWeChat server, string path) => JsonDocument.Parse(server.Calls.Single(c => c.Path == path).Body).RootElement;

    [Fact]
    public async Task Migration_and_provider_calls_send_the_documented_requests()
    {
        var (host, server) = Host();
        using var disposeHost = host;
        var client = host.Get<WeComClient>();
        var corpToken = TokenKey.WeCom(Corp, "isv");

        (await client.GetNewExternalUserIdAsync(corpToken, [Old])).Items.Should().ContainSingle(i => i.ExternalUserId == Old && i.NewExternalUserId == New);
        (await client.GetNewGroupChatExternalUserIdAsync(corpToken, "wrChat", [Old])).Items.Should().ContainSingle();
        (await client.UnionIdToExternalUserIdThirdPartyAsync("SUITE-TOKEN", Union, Open, Corp)).Items.Should().ContainSingle(i => i.ExternalUserId == New);
        await client.FinishExternalUserIdMigrationAsync("PROVIDER-TOKEN", Corp);
        await client.FinishOpenIdMigrationAsync("PROVIDER-TOKEN", Corp, [1, 3]);
        (await client.CorpIdToOpenCorpIdAsync("PROVIDER-TOKEN", Corp)).OpenCorpId.Value.Should().StartWith("wp");
        var openUserIds = await client.UserIdToOpenUserIdAsync(corpToken, ["zhangsan", "ghost"]);
        (await client.ToServiceExternalUserIdAsync(corpToken, Old)).ExternalUserId.Should().Be(New);
        (await client.FromServiceExternalUserIdAsync(corpToken, New, 1000003)).ExternalUserId.Should().Be(Old);
        (await client.ConvertToOpenIdAsync(corpToken, Old)).OpenId.Should().Be(Open);
        (await client.CorpGroupExternalUserIdToPendingIdAsync(corpToken, [Old])).Result.Should().ContainSingle(r => r.PendingId!.Value.Value == "p123");

        openUserIds.Items.Should().ContainSingle(i => i.UserId == "zhangsan" && i.OpenUserId == "woZS");
        openUserIds.InvalidUserIds.Should().Equal("ghost");
        server.Calls.Single(c => c.Path == "cgi-bin/externalcontact/get_new_external_userid").Query["access_token"].Should().Be("CORP-TOKEN");
        server.Calls.Single(c => c.Path == "cgi-bin/service/externalcontact/unionid_to_external_userid_3rd").Query["suite_access_token"].Should().Be("SUITE-TOKEN");
        server.Calls.Where(c => c.Path.StartsWith("cgi-bin/service/", StringComparison.Ordinal) && !c.Path.Contains("_3rd", StringComparison.Ordinal))
            .Should().HaveCount(3).And.OnlyContain(c => c.Query["provider_access_token"] == "PROVIDER-TOKEN");
        Body(server, "cgi-bin/externalcontact/get_new_external_userid").GetProperty("external_userid_list")[0].GetString().Should().Be(Old.Value);
        Body(server, "cgi-bin/externalcontact/groupchat/get_new_external_userid").GetProperty("chat_id").GetString().Should().Be("wrChat");
        var thirdParty = Body(server, "cgi-bin/service/externalcontact/unionid_to_external_userid_3rd");
        (thirdParty.GetProperty("unionid").GetString(), thirdParty.GetProperty("openid").GetString(), thirdParty.GetProperty("corpid").GetString())
            .Should().Be((Union.Value, Open.Value, Corp.Value));
        Body(server, "cgi-bin/service/finish_openid_migration").GetProperty("openid_type").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(1, 3);
        Body(server, "cgi-bin/externalcontact/from_service_external_userid").GetProperty("source_agentid").GetInt32().Should().Be(1000003);
        Body(server, "cgi-bin/corpgroup/batch/external_userid_to_pending_id").TryGetProperty("chat_id", out _).Should().BeFalse("a null chat_id is left out");
        server.CountOf("cgi-bin/gettoken").Should().Be(1);
    }

    [Fact]
    public void Options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OneId:WeChat:ApiBaseAddress"] = "http://127.0.0.1:5070/",
            ["OneId:WeChat:WeComBaseAddress"] = "http://127.0.0.1:5070/qyapi/",
            ["OneId:WeChat:Apps:0:AppId"] = "wx4f4bc4dec97d474b",
            ["OneId:WeChat:Apps:0:Secret"] = "s1",
            ["OneId:WeChat:Apps:0:TokenEndpoint"] = "Token",
            ["OneId:WeChat:WeComApps:0:CorpId"] = "wwacme000000000001",
            ["OneId:WeChat:WeComApps:0:Secret"] = "s2",
            ["OneId:WeChat:Tokens:RefreshBeforeExpiry"] = "00:02:00",
            ["OneId:WeChat:Retry:MaxRetryAttempts"] = "5",
        }).Build();
        using var host = new WeChatTestHost(o => configuration.GetSection("OneId:WeChat").Bind(o));

        var options = host.Get<IOptions<WeChatOptions>>().Value;

        options.ApiBaseAddress.Should().Be(new Uri("http://127.0.0.1:5070/"));
        options.Apps.Should().ContainSingle(a => a.AppId == "wx4f4bc4dec97d474b" && a.TokenEndpoint == AppTokenEndpoint.Token);
        options.WeComApps.Should().ContainSingle(w => w.Agent == "contact" && w.Secret == "s2");
        options.Tokens.RefreshBeforeExpiry.Should().Be(TimeSpan.FromMinutes(2));
        options.Retry.MaxRetryAttempts.Should().Be(5);
    }

    [Fact]
    public void Registration_is_idempotent_and_resolves_every_client()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.LoggingServiceCollectionExtensions.AddLogging(services);
        services.AddOneIdWeChat(o => o.Apps.Add(new WeChatAppCredential { AppId = "wx4f4bc4dec97d474b", Secret = "a" }));
        services.AddOneIdWeChat(o => o.Apps.Add(new WeChatAppCredential { AppId = "wx5823bf96d3bd56c7", Secret = "b" }));
        using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services, validateScopes: true);
        T Get<T>() where T : notnull => Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<T>(provider);

        Get<IOptions<WeChatOptions>>().Value.Apps.Should().HaveCount(2, "both configure calls apply");
        services.Count(d => d.ServiceType == typeof(IAccessTokenService)).Should().Be(1);
        Get<OfficialAccountClient>().Should().NotBeNull();
        Get<WeChatOAuthClient>().Should().NotBeNull();
        Get<MiniProgramClient>().Should().NotBeNull();
        Get<ComponentClient>().Should().NotBeNull();
        Get<WeComClient>().Should().NotBeNull();
        Get<ITokenStore>().Should().BeOfType<InMemoryTokenStore>();
    }
}
