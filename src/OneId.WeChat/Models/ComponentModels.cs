using System.Text.Json.Serialization;
using OneId.WeChat.Ids;

namespace OneId.WeChat.Models;

/// <summary>api_create_preauthcode answer (§5.3). The doc text says 1800 s, the samples 600: trust <see cref="ExpiresIn"/>.</summary>
public sealed record PreAuthCode(
    [property: JsonPropertyName("pre_auth_code")] string Code,
    [property: JsonPropertyName("expires_in")] int ExpiresIn);

/// <summary>api_query_auth answer (§5.4).</summary>
public sealed record QueryAuthResponse([property: JsonPropertyName("authorization_info")] AuthorizationInfo AuthorizationInfo);

/// <summary>What an authorizer app granted. The refresh token is persisted by <see cref="Clients.ComponentClient"/>.</summary>
public sealed record AuthorizationInfo
{
    [JsonPropertyName("authorizer_appid")] public AppId AuthorizerAppId { get; init; }
    [JsonPropertyName("authorizer_access_token")] public string AuthorizerAccessToken { get; init; } = "";
    [JsonPropertyName("expires_in")] public int ExpiresIn { get; init; }
    [JsonPropertyName("authorizer_refresh_token")] public string AuthorizerRefreshToken { get; init; } = "";
    [JsonPropertyName("func_info")] public IReadOnlyList<FuncInfo>? FuncInfo { get; init; }

    public override string ToString() => $"AuthorizationInfo({AuthorizerAppId}, {FuncInfo?.Count ?? 0} permission sets)";
}

public sealed record FuncInfo([property: JsonPropertyName("funcscope_category")] FuncScopeCategory? Category);

public sealed record FuncScopeCategory([property: JsonPropertyName("id")] int Id);

/// <summary>Which accounts the component authorize page offers (§5.3): 1 OA, 2 MP, 3 both.</summary>
public enum ComponentAuthType
{
    OfficialAccount = 1,
    MiniProgram = 2,
    Both = 3,
}

/// <summary>A third-party platform INFO event (§7.4), decrypted.</summary>
/// <param name="InfoType">component_verify_ticket, authorized, updateauthorized, unauthorized, …</param>
public sealed record ComponentInfoEvent(
    AppId ComponentAppId,
    string InfoType,
    DateTimeOffset CreateTime,
    string? ComponentVerifyTicket,
    AppId? AuthorizerAppId,
    string? AuthorizationCode,
    DateTimeOffset? AuthorizationCodeExpiredTime,
    string? PreAuthCode)
{
    public override string ToString() => $"ComponentInfoEvent({ComponentAppId}, {InfoType}, {AuthorizerAppId?.Value ?? "-"})";
}
