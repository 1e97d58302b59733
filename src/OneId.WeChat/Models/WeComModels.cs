using System.Text.Json.Serialization;
using OneId.WeChat.Ids;

namespace OneId.WeChat.Models;

/// <summary>externalcontact/list answer (§6.2).</summary>
public sealed record ExternalContactIdList([property: JsonPropertyName("external_userid")] IReadOnlyList<ExternalUserId>? ExternalUserIds);

/// <summary>externalcontact/get answer (§6.3); follow_user is paged at 500 by <see cref="NextCursor"/>.</summary>
public sealed record ExternalContactDetail
{
    [JsonPropertyName("external_contact")] public ExternalContact ExternalContact { get; init; } = new();
    [JsonPropertyName("follow_user")] public IReadOnlyList<FollowUser>? FollowUsers { get; init; }
    [JsonPropertyName("next_cursor")] public string? NextCursor { get; init; }
}

/// <summary>A customer (§6.3). <see cref="UnionId"/> only for type-1 customers of a corp bound to a WeChat developer account, and never for third-party apps (§6.14).</summary>
public sealed record ExternalContact
{
    [JsonPropertyName("external_userid")] public ExternalUserId ExternalUserId { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("avatar")] public string? Avatar { get; init; }
    /// <summary>1 = WeChat user, 2 = WeCom user.</summary>
    [JsonPropertyName("type")] public int Type { get; init; }
    [JsonPropertyName("gender")] public int? Gender { get; init; }
    [JsonPropertyName("unionid")] public UnionId? UnionId { get; init; }
    [JsonPropertyName("position")] public string? Position { get; init; }
    [JsonPropertyName("corp_name")] public string? CorpName { get; init; }
    [JsonPropertyName("corp_full_name")] public string? CorpFullName { get; init; }
}

/// <summary>A member following the customer (§6.3).</summary>
public sealed record FollowUser
{
    [JsonPropertyName("userid")] public string UserId { get; init; } = "";
    [JsonPropertyName("remark")] public string? Remark { get; init; }
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("createtime")] public long CreateTime { get; init; }
    [JsonPropertyName("tags")] public IReadOnlyList<FollowUserTag>? Tags { get; init; }
    [JsonPropertyName("remark_corp_name")] public string? RemarkCorpName { get; init; }
    [JsonPropertyName("remark_mobiles")] public IReadOnlyList<string>? RemarkMobiles { get; init; }
    [JsonPropertyName("add_way")] public int? AddWay { get; init; }
    [JsonPropertyName("state")] public string? State { get; init; }
    [JsonPropertyName("oper_userid")] public string? OperUserId { get; init; }
}

public sealed record FollowUserTag(
    [property: JsonPropertyName("group_name")] string? GroupName,
    [property: JsonPropertyName("tag_name")] string? TagName,
    [property: JsonPropertyName("tag_id")] string? TagId,
    [property: JsonPropertyName("type")] int Type);

/// <summary>externalcontact/batch/get_by_user answer (§6.4): <see cref="NextCursor"/> is empty when done.</summary>
public sealed record ExternalContactBatch(
    [property: JsonPropertyName("external_contact_list")] IReadOnlyList<ExternalContactBatchItem>? Items,
    [property: JsonPropertyName("next_cursor")] string? NextCursor);

public sealed record ExternalContactBatchItem(
    [property: JsonPropertyName("external_contact")] ExternalContact ExternalContact,
    [property: JsonPropertyName("follow_info")] FollowInfo? FollowInfo);

/// <summary>The batch variant of <see cref="FollowUser"/>: tag ids only (§6.4).</summary>
public sealed record FollowInfo
{
    [JsonPropertyName("userid")] public string UserId { get; init; } = "";
    [JsonPropertyName("remark")] public string? Remark { get; init; }
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("createtime")] public long CreateTime { get; init; }
    [JsonPropertyName("tag_id")] public IReadOnlyList<string>? TagIds { get; init; }
    [JsonPropertyName("remark_corp_name")] public string? RemarkCorpName { get; init; }
    [JsonPropertyName("remark_mobiles")] public IReadOnlyList<string>? RemarkMobiles { get; init; }
    [JsonPropertyName("oper_userid")] public string? OperUserId { get; init; }
    [JsonPropertyName("add_way")] public int? AddWay { get; init; }
    [JsonPropertyName("state")] public string? State { get; init; }
}

/// <summary>The subject of the MP/OA a unionid came from, for idconvert (§6.6).</summary>
public enum UnionIdSubjectType
{
    /// <summary>The corp's own subject.</summary>
    Corp = 0,

    /// <summary>The service provider's subject.</summary>
    Provider = 1,
}

/// <summary>idconvert/unionid_to_external_userid answer (§6.6): an external_userid when the person is a customer, else a pending_id.</summary>
public sealed record UnionIdConversion(
    [property: JsonPropertyName("external_userid")] ExternalUserId? ExternalUserId,
    [property: JsonPropertyName("pending_id")] PendingId? PendingId);

/// <summary>The older unionid_to_external_userid answer (§6.5).</summary>
public sealed record ExternalUserIdResponse([property: JsonPropertyName("external_userid")] ExternalUserId ExternalUserId);

/// <summary>idconvert/batch/external_userid_to_pending_id answer (§6.7).</summary>
public sealed record PendingIdList([property: JsonPropertyName("result")] IReadOnlyList<PendingIdMapping>? Result);

public sealed record PendingIdMapping(
    [property: JsonPropertyName("external_userid")] ExternalUserId ExternalUserId,
    [property: JsonPropertyName("pending_id")] PendingId? PendingId);

/// <summary>get_new_external_userid answer (§6.9).</summary>
public sealed record NewExternalUserIdList([property: JsonPropertyName("items")] IReadOnlyList<NewExternalUserIdMapping>? Items);

public sealed record NewExternalUserIdMapping(
    [property: JsonPropertyName("external_userid")] ExternalUserId ExternalUserId,
    [property: JsonPropertyName("new_external_userid")] ExternalUserId NewExternalUserId);

/// <summary>unionid_to_external_userid_3rd answer (§6.8).</summary>
public sealed record ThirdPartyExternalUserIdList(
    [property: JsonPropertyName("external_userid_info")] IReadOnlyList<ThirdPartyExternalUserId>? Items);

public sealed record ThirdPartyExternalUserId(
    [property: JsonPropertyName("corpid")] CorpId CorpId,
    [property: JsonPropertyName("external_userid")] ExternalUserId ExternalUserId);

/// <summary>corpid_to_opencorpid answer (§6.11).</summary>
public sealed record OpenCorpIdResponse([property: JsonPropertyName("open_corpid")] CorpId OpenCorpId);

/// <summary>batch/userid_to_openuserid answer (§6.12).</summary>
public sealed record OpenUserIdList(
    [property: JsonPropertyName("open_userid_list")] IReadOnlyList<OpenUserIdMapping>? Items,
    [property: JsonPropertyName("invalid_userid_list")] IReadOnlyList<string>? InvalidUserIds);

public sealed record OpenUserIdMapping(
    [property: JsonPropertyName("userid")] string UserId,
    [property: JsonPropertyName("open_userid")] string OpenUserId);

/// <summary>convert_to_openid answer (§6.13).</summary>
public sealed record OpenIdResponse([property: JsonPropertyName("openid")] OpenId OpenId);

/// <summary>externalcontact/get_follow_user_list answer: the members with customer contact (open_userids for a provider app once upgraded).</summary>
public sealed record FollowUserList([property: JsonPropertyName("follow_user")] IReadOnlyList<string>? UserIds);

/// <summary>externalcontact/add_contact_way answer: config_id, and qr_code for a QR-code way.</summary>
public sealed record ContactWayCreated(
    [property: JsonPropertyName("config_id")] string ConfigId,
    [property: JsonPropertyName("qr_code")] string? QrCode);

/// <summary>service/get_provider_token answer.</summary>
public sealed record ProviderToken(
    [property: JsonPropertyName("provider_access_token")] string ProviderAccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn);
