namespace OneId.WeChat.Http;

/// <summary>
/// A WeChat / WeCom API call failed: either an <c>errcode</c> inside an HTTP 200 answer (docs/wechat-api.md §0.1), or a transport
/// failure (HTTP error status, timeout, unreadable body). Never carries tokens, secrets or codes.
/// </summary>
public sealed class WeChatApiException : Exception
{
    public WeChatApiException(string endpoint, int errCode, string? errMsg)
        : base($"WeChat {endpoint} answered errcode {errCode}: {errMsg}{Hint(errCode)}")
    {
        Endpoint = endpoint;
        ErrCode = errCode;
        ErrMsg = errMsg;
        IsTransient = IsTransientCode(errCode);
    }

    public WeChatApiException(string endpoint, string message, bool isTransient, int? httpStatus = null, Exception? innerException = null)
        : base($"WeChat {endpoint}: {message}", innerException)
    {
        Endpoint = endpoint;
        HttpStatus = httpStatus;
        IsTransient = isTransient;
    }

    /// <summary>The API path, such as <c>cgi-bin/user/info</c>.</summary>
    public string Endpoint { get; }

    /// <summary>WeChat's errcode, or null for a transport failure.</summary>
    public int? ErrCode { get; }

    /// <summary>WeChat's errmsg including its rid/hint suffix (never match it exactly, §0.1).</summary>
    public string? ErrMsg { get; }

    /// <summary>The HTTP status when the failure was an HTTP error.</summary>
    public int? HttpStatus { get; }

    /// <summary>True when the same call may succeed later: -1, rate limits, timeouts and HTTP failures.</summary>
    public bool IsTransient { get; }

    /// <summary>40001 / 40014 / 42001: the access token was refused (the token handler refreshes once and retries).</summary>
    public bool IsInvalidToken => ErrCode is { } c && WeChatErrorCodes.IsInvalidToken(c);

    /// <summary>The code (OAuth, js_code, phone code) is invalid, expired or used: the user must start again.</summary>
    public bool IsInvalidCode => ErrCode is 40029 or 40163 or 42003 or 61009 or 61010;

    internal static bool IsTransientCode(int errCode) => errCode is -1
        or 45011 // per-minute quota: retry next minute
        or 45033 // WeCom concurrency limit
        or 89501; // IP confirmation pending with the admin: retry later (§1.1)

    private static string Hint(int errCode) => errCode switch
    {
        40164 or 60020 or 61004 => " (add this server's IP to the app's IP allow-list in the console)",
        40125 => " (the AppSecret is wrong; reset it in the console and update OneId's configuration)",
        40243 => " (the AppSecret is frozen by the owner)",
        45009 => " (daily quota used up; it resets at midnight Beijing time, or clear it with cgi-bin/clear_quota)",
        48001 => " (the app lacks this API permission, or the OAuth token has scope snsapi_base)",
        61005 or 61006 => " (the component_verify_ticket is stale; check that the authorization event URL receives pushes)",
        61023 => " (the authorizer revoked the authorization; it must authorize again)",
        845003 => " (the unionid's subject differs from the corp's or provider's; see subject_type)",
        _ => string.Empty,
    };
}

/// <summary>errcodes the library acts on.</summary>
public static class WeChatErrorCodes
{
    public const int SystemBusy = -1;
    public const int InvalidCredential = 40001;
    public const int InvalidAccessToken = 40014;
    public const int AccessTokenExpired = 42001;

    /// <summary>The three codes that mean "this access token is no longer good" (§1.1).</summary>
    public static bool IsInvalidToken(int errCode) => errCode is InvalidCredential or InvalidAccessToken or AccessTokenExpired;
}
