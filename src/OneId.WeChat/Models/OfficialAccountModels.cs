using System.Text.Json.Serialization;
using OneId.WeChat.Ids;

namespace OneId.WeChat.Models;

/// <summary>
/// cgi-bin/user/info (§2.1). For a non-follower only <see cref="Subscribe"/> = false, the openid and — when the OA is bound
/// to an Open Platform account — the unionid are present. Since
/// 2021-12 nickname, sex, city, province, country and headimgurl are blanked: never treat them as profile data.
/// </summary>
public sealed record OfficialAccountUser
{
    [JsonPropertyName("subscribe")] public bool Subscribe { get; init; }
    [JsonPropertyName("openid")] public OpenId OpenId { get; init; }
    /// <summary>Only when the OA is bound to an Open Platform account.</summary>
    [JsonPropertyName("unionid")] public UnionId? UnionId { get; init; }
    [JsonPropertyName("language")] public string? Language { get; init; }
    [JsonPropertyName("subscribe_time")] public long? SubscribeTime { get; init; }
    [JsonPropertyName("remark")] public string? Remark { get; init; }
    [JsonPropertyName("groupid")] public int? GroupId { get; init; }
    [JsonPropertyName("tagid_list")] public IReadOnlyList<int>? TagIds { get; init; }
    [JsonPropertyName("subscribe_scene")] public string? SubscribeScene { get; init; }
    [JsonPropertyName("qr_scene")] public long? QrScene { get; init; }
    [JsonPropertyName("qr_scene_str")] public string? QrSceneStr { get; init; }
    /// <summary>Legacy: blanked to "" since 2021-12.</summary>
    [JsonPropertyName("nickname")] public string? Nickname { get; init; }
    /// <summary>Legacy: 0 since 2021-12.</summary>
    [JsonPropertyName("sex")] public int? Sex { get; init; }
    [JsonPropertyName("country")] public string? Country { get; init; }
    [JsonPropertyName("province")] public string? Province { get; init; }
    [JsonPropertyName("city")] public string? City { get; init; }
    [JsonPropertyName("headimgurl")] public string? HeadImgUrl { get; init; }
}

/// <summary>cgi-bin/user/info/batchget answer (§2.2).</summary>
public sealed record OfficialAccountUserList(
    [property: JsonPropertyName("user_info_list")] IReadOnlyList<OfficialAccountUser> Users);

/// <summary>One page of cgi-bin/user/get (§2.3): at most 10000 openids.</summary>
public sealed record FollowerPage
{
    [JsonPropertyName("total")] public int Total { get; init; }
    [JsonPropertyName("count")] public int Count { get; init; }
    [JsonPropertyName("data")] public FollowerPageData? Data { get; init; }
    /// <summary>The last openid of this page; pass it to get the next page. Empty (or no data) after the last page.</summary>
    [JsonPropertyName("next_openid")] public string? NextOpenId { get; init; }

    /// <summary>The openids of this page (empty when <c>data</c> is absent).</summary>
    [JsonIgnore] public IReadOnlyList<OpenId> OpenIds => Data?.OpenIds ?? [];
}

public sealed record FollowerPageData([property: JsonPropertyName("openid")] IReadOnlyList<OpenId>? OpenIds);

/// <summary>cgi-bin/qrcode/create answer: the ticket (scanning it pushes its scene), its lifetime (temporary codes only) and the URL the image encodes.</summary>
public sealed record QrCodeTicket(
    [property: JsonPropertyName("ticket")] string Ticket,
    [property: JsonPropertyName("expire_seconds")] long? ExpireSeconds,
    [property: JsonPropertyName("url")] string? Url);

/// <summary>cgi-bin/changeopenid answer: one entry per old openid.</summary>
public sealed record OpenIdChangeList([property: JsonPropertyName("result_list")] IReadOnlyList<OpenIdChange>? Results);

/// <summary>One changeopenid entry: <see cref="NewOpenId"/> when <see cref="ErrMsg"/> is "ok"; "ori_openid error" otherwise.</summary>
public sealed record OpenIdChange(
    [property: JsonPropertyName("ori_openid")] string OriginalOpenId,
    [property: JsonPropertyName("new_openid")] string? NewOpenId,
    [property: JsonPropertyName("err_msg")] string? ErrMsg)
{
    [JsonIgnore] public bool Succeeded => ErrMsg == "ok" && !string.IsNullOrEmpty(NewOpenId);
}
