using System.Text.Json.Serialization;
using OneId.WeChat.Ids;

namespace OneId.WeChat.Models;

/// <summary>
/// code2Session answer (§4.1, §4.2). The session_key never leaves the server and is never logged: <see cref="ToString"/>
/// leaves it out.
/// </summary>
public sealed record MiniProgramSession
{
    [JsonPropertyName("openid")] public OpenId OpenId { get; init; }
    [JsonPropertyName("session_key")] public string SessionKey { get; init; } = "";
    /// <summary>When the MP is bound to an Open Platform account (rule since 2021-02-23, §4.3).</summary>
    [JsonPropertyName("unionid")] public UnionId? UnionId { get; init; }

    public override string ToString() => $"MiniProgramSession({OpenId}, unionid {UnionId?.Value ?? "-"})";
}

/// <summary>wxa/getpaidunionid answer (§4.4).</summary>
public sealed record PaidUnionIdResponse([property: JsonPropertyName("unionid")] UnionId UnionId);

/// <summary>wxa/business/getuserphonenumber answer (§4.6).</summary>
public sealed record PhoneNumberResponse([property: JsonPropertyName("phone_info")] PhoneInfo PhoneInfo);

/// <summary>The phone of a getPhoneNumber code. <see cref="CountryCode"/> arrives as a string or a number (§4.6).</summary>
public sealed record PhoneInfo
{
    /// <summary>With the country code for foreign numbers.</summary>
    [JsonPropertyName("phoneNumber")] public string PhoneNumber { get; init; } = "";
    [JsonPropertyName("purePhoneNumber")] public string PurePhoneNumber { get; init; } = "";
    [JsonPropertyName("countryCode")] public string? CountryCode { get; init; }
    [JsonPropertyName("watermark")] public Watermark? Watermark { get; init; }
}

/// <summary>The watermark WeChat puts in phone and open data: the app it was issued for.</summary>
public sealed record Watermark(
    [property: JsonPropertyName("timestamp")] long Timestamp,
    [property: JsonPropertyName("appid")] string AppId);
