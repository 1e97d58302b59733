using System.Text.Json.Serialization;
using OneId.WeChat.Ids;

namespace OneId.WeChat.Models;

/// <summary>The scope of a browser / app authorization (§3.1, §3.6, §3.7).</summary>
public enum OAuthScope
{
    /// <summary>Silent, openid only.</summary>
    SnsApiBase,

    /// <summary>Consent page (silent for followers arriving from the OA); openid, unionid and profile.</summary>
    SnsApiUserInfo,

    /// <summary>Website QR login.</summary>
    SnsApiLogin,
}

/// <summary>
/// sns/oauth2/access_token and refresh_token answers (§3.2, §3.3), also the component variants (§3.8).
/// <see cref="IsSnapshotUser"/> marks a virtual user from snapshot mode: its ids must never be merged (§3.1).
/// </summary>
public sealed record OAuthToken
{
    [JsonPropertyName("access_token")] public string AccessToken { get; init; } = "";
    [JsonPropertyName("expires_in")] public int ExpiresIn { get; init; }
    [JsonPropertyName("refresh_token")] public string RefreshToken { get; init; } = "";
    [JsonPropertyName("openid")] public OpenId OpenId { get; init; }
    /// <summary>Comma-separated granted scopes.</summary>
    [JsonPropertyName("scope")] public string Scope { get; init; } = "";
    [JsonPropertyName("is_snapshotuser")] public bool IsSnapshotUser { get; init; }
    [JsonPropertyName("unionid")] public UnionId? UnionId { get; init; }

    /// <summary>True when the grant includes snsapi_userinfo (or snsapi_login), so sns/userinfo may be called.</summary>
    [JsonIgnore] public bool HasUserInfoScope => Scope.Split(',').Any(s => s.Trim() is "snsapi_userinfo" or "snsapi_login");

    public override string ToString() => $"OAuthToken({OpenId}, scope {Scope}, snapshot {IsSnapshotUser})";
}

/// <summary>sns/userinfo answer (§3.4).</summary>
public sealed record SnsUserInfo
{
    [JsonPropertyName("openid")] public OpenId OpenId { get; init; }
    [JsonPropertyName("nickname")] public string? Nickname { get; init; }
    [JsonPropertyName("sex")] public int? Sex { get; init; }
    [JsonPropertyName("province")] public string? Province { get; init; }
    [JsonPropertyName("city")] public string? City { get; init; }
    [JsonPropertyName("country")] public string? Country { get; init; }
    [JsonPropertyName("headimgurl")] public string? HeadImgUrl { get; init; }
    [JsonPropertyName("privilege")] public IReadOnlyList<string>? Privilege { get; init; }
    [JsonPropertyName("unionid")] public UnionId? UnionId { get; init; }
}
