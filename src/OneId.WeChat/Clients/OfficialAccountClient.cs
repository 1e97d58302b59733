using Microsoft.Extensions.Logging;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.WeChat.Clients;

/// <summary>
/// OA follower APIs (§2). <paramref name="token"/> is the OA's token (<c>TokenKey.App(appId)</c>) or, for a third-party
/// platform, the authorizer's (<c>TokenKey.Authorizer(component, appId)</c>).
/// </summary>
public sealed class OfficialAccountClient(HttpClient http, ILogger<OfficialAccountClient> logger)
{
    /// <summary>The most openids batchget takes per call (§2.2).</summary>
    public const int MaxBatchSize = 100;

    /// <summary>GET cgi-bin/user/info (§2.1).</summary>
    public Task<OfficialAccountUser> GetUserInfoAsync(TokenBinding token, OpenId openId, string lang = "zh_CN", CancellationToken cancellationToken = default) =>
        WeChatHttp.GetAsync<OfficialAccountUser>(http, logger, "cgi-bin/user/info",
            [new("openid", openId), new("lang", lang)], token, cancellationToken);

    /// <summary>POST cgi-bin/user/info/batchget, at most 100 openids (§2.2); split longer lists yourself.</summary>
    public Task<OfficialAccountUserList> BatchGetUserInfoAsync(TokenBinding token, IReadOnlyCollection<OpenId> openIds, string lang = "zh_CN", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(openIds);
        if (openIds.Count is 0 or > MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(openIds), openIds.Count, $"batchget takes 1 to {MaxBatchSize} openids per call.");
        }
        var body = new { user_list = openIds.Select(o => new { openid = o.Value, lang }).ToArray() };
        return WeChatHttp.PostAsync<OfficialAccountUserList>(http, logger, "cgi-bin/user/info/batchget", null, body, token, cancellationToken);
    }

    /// <summary>GET cgi-bin/user/get: one page of up to 10000 follower openids (§2.3). Pass the previous page's next_openid.</summary>
    public Task<FollowerPage> GetFollowersAsync(TokenBinding token, string? nextOpenId = null, CancellationToken cancellationToken = default) =>
        WeChatHttp.GetAsync<FollowerPage>(http, logger, "cgi-bin/user/get",
            [new("next_openid", nextOpenId ?? "")], token, cancellationToken);

    /// <summary>
    /// POST cgi-bin/clear_quota: resets the app's daily API quotas after 45009 (§0.2). WeChat allows it only a few times a
    /// month, so it is an operator's action, never an automatic retry.
    /// </summary>
    public Task ClearQuotaAsync(TokenBinding token, AppId appId, CancellationToken cancellationToken = default) =>
        WeChatHttp.PostAsync<WeChatStatusResponse>(http, logger, "cgi-bin/clear_quota", null, new { appid = appId.Value }, token, cancellationToken);

    /// <summary>The most openids changeopenid takes per call.</summary>
    public const int MaxChangeOpenIdBatch = 100;

    /// <summary>
    /// POST cgi-bin/qrcode/create: a parametric QR code. A string scene (1-64 characters) or a number scene; permanent
    /// codes (QR_LIMIT_*) take numbers 1-100000; temporary ones live <paramref name="expireSeconds"/> (60 by default,
    /// at most 30 days). A new follower's subscribe push carries EventKey qrscene_&lt;scene&gt;, a follower's SCAN push the scene.
    /// </summary>
    public Task<QrCodeTicket> CreateQrCodeAsync(TokenBinding token, string? sceneStr, long? sceneId, bool permanent, int? expireSeconds = null, CancellationToken cancellationToken = default)
    {
        if ((sceneStr is null) == (sceneId is null))
        {
            throw new ArgumentException("Give either a string scene or a number scene.", nameof(sceneStr));
        }
        var action = (permanent, sceneStr is not null) switch
        {
            (true, true) => "QR_LIMIT_STR_SCENE",
            (true, false) => "QR_LIMIT_SCENE",
            (false, true) => "QR_STR_SCENE",
            _ => "QR_SCENE",
        };
        object scene = sceneStr is not null ? new { scene_str = sceneStr } : new { scene_id = sceneId };
        object body = permanent || expireSeconds is null
            ? new { action_name = action, action_info = new { scene } }
            : new { expire_seconds = expireSeconds, action_name = action, action_info = new { scene } };
        return WeChatHttp.PostAsync<QrCodeTicket>(http, logger, "cgi-bin/qrcode/create", null, body, token, cancellationToken);
    }

    /// <summary>
    /// POST cgi-bin/changeopenid after an OA account migration: with the NEW account's token, up to 100 openids of the old
    /// account (<paramref name="fromAppId"/>) → their openids in the new one. Works for 15 days after the migration.
    /// </summary>
    public Task<OpenIdChangeList> ChangeOpenIdAsync(TokenBinding token, AppId fromAppId, IReadOnlyCollection<OpenId> openIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(openIds);
        if (openIds.Count is 0 or > MaxChangeOpenIdBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(openIds), openIds.Count, $"changeopenid takes 1 to {MaxChangeOpenIdBatch} openids per call.");
        }
        var body = new { from_appid = fromAppId.Value, openid_list = openIds.Select(o => o.Value).ToArray() };
        return WeChatHttp.PostAsync<OpenIdChangeList>(http, logger, "cgi-bin/changeopenid", null, body, token, cancellationToken);
    }

    /// <summary>
    /// Every follower openid, page by page. Stops on an empty page or an empty / repeated next_openid (the doc does not pin
    /// what follows the last page, §2.3; both forms end the loop).
    /// </summary>
    public async IAsyncEnumerable<OpenId> GetAllFollowersAsync(TokenBinding token, string? startAfter = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = startAfter;
        while (true)
        {
            var page = await GetFollowersAsync(token, next, cancellationToken).ConfigureAwait(false);
            foreach (var openId in page.OpenIds)
            {
                yield return openId;
            }
            if (page.Count == 0 || page.OpenIds.Count == 0 || string.IsNullOrEmpty(page.NextOpenId) || page.NextOpenId == next)
            {
                yield break;
            }
            next = page.NextOpenId;
        }
    }
}
