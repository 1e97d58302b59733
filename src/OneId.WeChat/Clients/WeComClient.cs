using Microsoft.Extensions.Logging;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.WeChat.Clients;

/// <summary>
/// WeCom customer-contact and id-conversion APIs (§6). <c>token</c> is a managed WeCom app token
/// (<c>TokenKey.WeCom(corpId, "contact")</c>) or an explicit one (a third-party app's corp token). Provider and suite
/// endpoints take their token explicitly: OneId does not manage suite tickets.
/// </summary>
public sealed class WeComClient(HttpClient http, ILogger<WeComClient> logger)
{
    /// <summary>get_by_user, external_userid_to_pending_id: at most 100 ids per call (§6.4, §6.7).</summary>
    public const int MaxBatchSize = 100;

    /// <summary>GET cgi-bin/externalcontact/list (§6.2): the customers of one member. No paging.</summary>
    public async Task<IReadOnlyList<ExternalUserId>> ListExternalContactsAsync(TokenBinding token, string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        var list = await WeChatHttp.GetAsync<ExternalContactIdList>(http, logger, "cgi-bin/externalcontact/list",
            [new("userid", userId)], token, cancellationToken).ConfigureAwait(false);
        return list.ExternalUserIds ?? [];
    }

    /// <summary>GET cgi-bin/externalcontact/get (§6.3). Pass <paramref name="cursor"/> (next_cursor) only past 500 follow users.</summary>
    public Task<ExternalContactDetail> GetExternalContactAsync(TokenBinding token, ExternalUserId externalUserId, string? cursor = null, CancellationToken cancellationToken = default) =>
        WeChatHttp.GetAsync<ExternalContactDetail>(http, logger, "cgi-bin/externalcontact/get",
            [new("external_userid", externalUserId), new("cursor", string.IsNullOrEmpty(cursor) ? null : cursor)], token, cancellationToken);

    /// <summary>POST cgi-bin/externalcontact/batch/get_by_user (§6.4): up to 100 members; limit is clamped to 1..100 here as WeChat does.</summary>
    public Task<ExternalContactBatch> BatchGetByUserAsync(TokenBinding token, IReadOnlyCollection<string> userIds, string? cursor = null, int limit = 50, CancellationToken cancellationToken = default)
    {
        CheckBatch(userIds, nameof(userIds));
        var body = new { userid_list = userIds, cursor = cursor ?? "", limit = Math.Clamp(limit, 1, MaxBatchSize) };
        return WeChatHttp.PostAsync<ExternalContactBatch>(http, logger, "cgi-bin/externalcontact/batch/get_by_user", null, body, token, cancellationToken);
    }

    /// <summary>
    /// POST cgi-bin/externalcontact/unionid_to_external_userid, the older conversion (§6.5): corp-subject mini program ids only.
    /// Sends both unionid and openid (WxJava does; the doc requires them to come from the same mini program).
    /// </summary>
    public Task<ExternalUserIdResponse> UnionIdToExternalUserIdLegacyAsync(TokenBinding token, UnionId unionId, OpenId openId, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<ExternalUserIdResponse>(http, logger, "cgi-bin/externalcontact/unionid_to_external_userid", null,
            new { unionid = unionId.Value, openid = openId.Value }, token, cancellationToken);

    /// <summary>
    /// POST cgi-bin/idconvert/unionid_to_external_userid (§6.6): an external_userid when the person is a customer, otherwise a
    /// pending_id (90 days). 845003 when the subjects do not match.
    /// </summary>
    public Task<UnionIdConversion> UnionIdToExternalUserIdAsync(TokenBinding token, UnionId unionId, OpenId openId, UnionIdSubjectType subjectType, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<UnionIdConversion>(http, logger, "cgi-bin/idconvert/unionid_to_external_userid", null,
            new { unionid = unionId.Value, openid = openId.Value, subject_type = (int)subjectType }, token, cancellationToken);

    /// <summary>POST cgi-bin/idconvert/batch/external_userid_to_pending_id (§6.7): up to 100 ids; closes the pending_id loop.</summary>
    public Task<PendingIdList> ExternalUserIdToPendingIdAsync(TokenBinding token, IReadOnlyCollection<ExternalUserId> externalUserIds, string? chatId = null, CancellationToken cancellationToken = default)
    {
        CheckBatch(externalUserIds, nameof(externalUserIds));
        var body = new { chat_id = chatId, external_userid = externalUserIds.Select(e => e.Value).ToArray() };
        return WeChatHttp.PostAsync<PendingIdList>(http, logger, "cgi-bin/idconvert/batch/external_userid_to_pending_id", null, body, token, cancellationToken);
    }

    /// <summary>POST cgi-bin/corpgroup/batch/external_userid_to_pending_id: the 上下游 (corp group) variant (§6.7).</summary>
    public Task<PendingIdList> CorpGroupExternalUserIdToPendingIdAsync(TokenBinding token, IReadOnlyCollection<ExternalUserId> externalUserIds, string? chatId = null, CancellationToken cancellationToken = default)
    {
        CheckBatch(externalUserIds, nameof(externalUserIds));
        var body = new { chat_id = chatId, external_userid = externalUserIds.Select(e => e.Value).ToArray() };
        return WeChatHttp.PostAsync<PendingIdList>(http, logger, "cgi-bin/corpgroup/batch/external_userid_to_pending_id", null, body, token, cancellationToken);
    }

    /// <summary>
    /// POST cgi-bin/service/externalcontact/unionid_to_external_userid_3rd with a suite_access_token (§6.8). Pass
    /// <paramref name="corpId"/> whenever known (required for the group scenario).
    /// </summary>
    public Task<ThirdPartyExternalUserIdList> UnionIdToExternalUserIdThirdPartyAsync(string suiteAccessToken, UnionId unionId, OpenId openId, CorpId? corpId = null, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<ThirdPartyExternalUserIdList>(http, logger, "cgi-bin/service/externalcontact/unionid_to_external_userid_3rd", null,
            new { unionid = unionId.Value, openid = openId.Value, corpid = corpId?.Value }, TokenBinding.Explicit(suiteAccessToken, "suite_access_token"), cancellationToken);

    /// <summary>POST cgi-bin/externalcontact/get_new_external_userid (§6.9): old → upgraded ids for historically authorized corps.</summary>
    public Task<NewExternalUserIdList> GetNewExternalUserIdAsync(TokenBinding token, IReadOnlyCollection<ExternalUserId> externalUserIds, CancellationToken cancellationToken = default)
    {
        // The maximum (1000?) is unconfirmed (§6.9); let WeChat judge rather than guess a limit here.
        ArgumentNullException.ThrowIfNull(externalUserIds);
        return WeChatHttp.PostAsync<NewExternalUserIdList>(http, logger, "cgi-bin/externalcontact/get_new_external_userid", null,
            new { external_userid_list = externalUserIds.Select(e => e.Value).ToArray() }, token, cancellationToken);
    }

    /// <summary>POST cgi-bin/externalcontact/groupchat/get_new_external_userid (§6.9): the group-chat variant.</summary>
    public Task<NewExternalUserIdList> GetNewGroupChatExternalUserIdAsync(TokenBinding token, string chatId, IReadOnlyCollection<ExternalUserId> externalUserIds, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(chatId);
        ArgumentNullException.ThrowIfNull(externalUserIds);
        return WeChatHttp.PostAsync<NewExternalUserIdList>(http, logger, "cgi-bin/externalcontact/groupchat/get_new_external_userid", null,
            new { chat_id = chatId, external_userid_list = externalUserIds.Select(e => e.Value).ToArray() }, token, cancellationToken);
    }

    /// <summary>POST cgi-bin/service/externalcontact/finish_external_userid_migration with a provider_access_token (§6.10).</summary>
    public Task FinishExternalUserIdMigrationAsync(string providerAccessToken, CorpId corpId, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<WeChatStatusResponse>(http, logger, "cgi-bin/service/externalcontact/finish_external_userid_migration", null,
            new { corpid = corpId.Value }, TokenBinding.Explicit(providerAccessToken, "provider_access_token"), cancellationToken);

    /// <summary>
    /// POST cgi-bin/service/finish_openid_migration (§6.10): 1 = userid + corpid, 3 = external_userid. After external_userid
    /// migration the corp's unionids are no longer returned.
    /// </summary>
    public Task FinishOpenIdMigrationAsync(string providerAccessToken, CorpId corpId, IReadOnlyCollection<int> openIdTypes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(openIdTypes);
        return WeChatHttp.PostAsync<WeChatStatusResponse>(http, logger, "cgi-bin/service/finish_openid_migration", null,
            new { corpid = corpId.Value, openid_type = openIdTypes }, TokenBinding.Explicit(providerAccessToken, "provider_access_token"), cancellationToken);
    }

    /// <summary>POST cgi-bin/service/corpid_to_opencorpid (§6.11).</summary>
    public Task<OpenCorpIdResponse> CorpIdToOpenCorpIdAsync(string providerAccessToken, CorpId corpId, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<OpenCorpIdResponse>(http, logger, "cgi-bin/service/corpid_to_opencorpid", null,
            new { corpid = corpId.Value }, TokenBinding.Explicit(providerAccessToken, "provider_access_token"), cancellationToken);

    /// <summary>POST cgi-bin/batch/userid_to_openuserid (§6.12).</summary>
    public Task<OpenUserIdList> UserIdToOpenUserIdAsync(TokenBinding token, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        return WeChatHttp.PostAsync<OpenUserIdList>(http, logger, "cgi-bin/batch/userid_to_openuserid", null, new { userid_list = userIds }, token, cancellationToken);
    }

    /// <summary>POST cgi-bin/externalcontact/to_service_external_userid (§6.13): a 代开发 app's id → the third-party app's id.</summary>
    public Task<ExternalUserIdResponse> ToServiceExternalUserIdAsync(TokenBinding token, ExternalUserId externalUserId, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<ExternalUserIdResponse>(http, logger, "cgi-bin/externalcontact/to_service_external_userid", null,
            new { external_userid = externalUserId.Value }, token, cancellationToken);

    /// <summary>POST cgi-bin/externalcontact/from_service_external_userid (§6.13): → the self-built app's id; needs a self-built token.
    /// <paramref name="sourceAgentId"/> is the agentid of the 代开发 / third-party app the id came from (an integer, as WeCom's agentids are).</summary>
    public Task<ExternalUserIdResponse> FromServiceExternalUserIdAsync(TokenBinding token, ExternalUserId externalUserId, int sourceAgentId, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<ExternalUserIdResponse>(http, logger, "cgi-bin/externalcontact/from_service_external_userid", null,
            new { external_userid = externalUserId.Value, source_agentid = sourceAgentId }, token, cancellationToken);

    /// <summary>POST cgi-bin/externalcontact/convert_to_openid (§6.13): only for <c>wm…</c> (WeChat) customers.</summary>
    public Task<OpenIdResponse> ConvertToOpenIdAsync(TokenBinding token, ExternalUserId externalUserId, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<OpenIdResponse>(http, logger, "cgi-bin/externalcontact/convert_to_openid", null,
            new { external_userid = externalUserId.Value }, token, cancellationToken);

    /// <summary>GET cgi-bin/externalcontact/get_follow_user_list: the members configured for customer contact, to walk with get_by_user.</summary>
    public async Task<IReadOnlyList<string>> GetFollowUserListAsync(TokenBinding token, CancellationToken cancellationToken = default)
    {
        var list = await WeChatHttp.GetAsync<FollowUserList>(http, logger, "cgi-bin/externalcontact/get_follow_user_list", null, token, cancellationToken).ConfigureAwait(false);
        return list.UserIds ?? [];
    }

    /// <summary>The longest contact-way state WeCom takes.</summary>
    public const int MaxContactWayStateLength = 30;

    /// <summary>
    /// POST cgi-bin/externalcontact/add_contact_way ("联系我"): one member (type 1) or several (type 2), as a QR code
    /// (scene 2) or a mini-program button (scene 1). <paramref name="state"/> (at most 30 characters) comes back in the
    /// add_external_contact push and in follow_user.state: the channel that brought the customer.
    /// </summary>
    public Task<ContactWayCreated> AddContactWayAsync(TokenBinding token, IReadOnlyCollection<string> userIds, string? state, bool qrCode = true, bool skipVerify = true, string? remark = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(userIds), 0, "A contact way needs at least one member.");
        }
        if (state is { Length: > MaxContactWayStateLength })
        {
            throw new ArgumentOutOfRangeException(nameof(state), state.Length, $"WeCom keeps at most {MaxContactWayStateLength} characters of state.");
        }
        var body = new { type = userIds.Count == 1 ? 1 : 2, scene = qrCode ? 2 : 1, remark, skip_verify = skipVerify, state, user = userIds };
        return WeChatHttp.PostAsync<ContactWayCreated>(http, logger, "cgi-bin/externalcontact/add_contact_way", null, body, token, cancellationToken);
    }

    /// <summary>POST cgi-bin/service/get_provider_token: the provider's own token for its id-upgrade APIs.</summary>
    public Task<ProviderToken> GetProviderTokenAsync(CorpId providerCorpId, string providerSecret, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(providerSecret);
        return WeChatHttp.PostAsync<ProviderToken>(http, logger, "cgi-bin/service/get_provider_token", null,
            new { corpid = providerCorpId.Value, provider_secret = providerSecret }, null, cancellationToken);
    }

    private static void CheckBatch<T>(IReadOnlyCollection<T> items, string name)
    {
        ArgumentNullException.ThrowIfNull(items, name);
        if (items.Count is 0 or > MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(name, items.Count, $"Between 1 and {MaxBatchSize} ids per call.");
        }
    }
}
