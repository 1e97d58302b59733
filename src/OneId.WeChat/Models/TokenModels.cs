using System.Text.Json.Serialization;

namespace OneId.WeChat.Models;

/// <summary>cgi-bin/token, stable_token and WeCom gettoken answers (§1.1, §1.2, §6.1).</summary>
public sealed record AccessTokenResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn)
{
    public override string ToString() => $"AccessTokenResponse(expires_in {ExpiresIn})";
}

/// <summary>api_component_token answer (§5.2).</summary>
public sealed record ComponentTokenResponse(
    [property: JsonPropertyName("component_access_token")] string ComponentAccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn)
{
    public override string ToString() => $"ComponentTokenResponse(expires_in {ExpiresIn})";
}

/// <summary>api_authorizer_token answer (§5.5).</summary>
public sealed record AuthorizerTokenResponse(
    [property: JsonPropertyName("authorizer_access_token")] string AuthorizerAccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("authorizer_refresh_token")] string? AuthorizerRefreshToken)
{
    public override string ToString() => $"AuthorizerTokenResponse(expires_in {ExpiresIn})";
}

/// <summary>An answer that carries only errcode/errmsg (api_start_push_ticket, finish migration, …).</summary>
public sealed record WeChatStatusResponse(
    [property: JsonPropertyName("errcode")] int ErrCode,
    [property: JsonPropertyName("errmsg")] string? ErrMsg);
