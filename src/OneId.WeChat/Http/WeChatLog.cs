using Microsoft.Extensions.Logging;

namespace OneId.WeChat.Http;

/// <summary>
/// Every log line of OneId.WeChat (event ids 4000–4099). Tokens, secrets, codes and session_keys never appear: a token is
/// shown only as its <see cref="Tokens.SecretFingerprint"/>; endpoints are logged without their query strings.
/// </summary>
internal static partial class WeChatLog
{
    [LoggerMessage(4001, LogLevel.Warning, "WeChat {Endpoint} answered errcode {ErrCode}: {ErrMsg}")]
    public static partial void ApiError(ILogger logger, string endpoint, int errCode, string? errMsg);

    [LoggerMessage(4002, LogLevel.Warning, "WeChat {Endpoint} answered HTTP {Status}")]
    public static partial void HttpFailure(ILogger logger, string endpoint, int status);

    [LoggerMessage(4003, LogLevel.Warning, "WeChat {Endpoint} failed: {Reason}")]
    public static partial void TransportFailure(ILogger logger, string endpoint, string reason);

    [LoggerMessage(4004, LogLevel.Warning, "WeChat {Endpoint} answered something unreadable: {Reason}")]
    public static partial void UnreadableAnswer(ILogger logger, string endpoint, string reason);

    [LoggerMessage(4005, LogLevel.Information, "Retrying WeChat {Endpoint} (attempt {Attempt}) after {Delay}: {Reason}")]
    public static partial void Retrying(ILogger logger, string endpoint, int attempt, TimeSpan delay, string reason);

    [LoggerMessage(4010, LogLevel.Information, "Fetched token {Key} #{Fingerprint} via {Endpoint}, expires {ExpiresAt:O}")]
    public static partial void TokenFetched(ILogger logger, string key, string fingerprint, string endpoint, DateTimeOffset expiresAt);

    [LoggerMessage(4011, LogLevel.Debug, "Token {Key} #{Fingerprint} read from the store")]
    public static partial void TokenFromStore(ILogger logger, string key, string fingerprint);

    [LoggerMessage(4012, LogLevel.Debug, "Waiting for another process to refresh token {Key}")]
    public static partial void WaitingForLease(ILogger logger, string key);

    [LoggerMessage(4013, LogLevel.Warning, "WeChat refused token {Key} #{Fingerprint} on {Endpoint} with errcode {ErrCode}; refreshing once and retrying")]
    public static partial void TokenRejected(ILogger logger, string key, string fingerprint, string endpoint, int errCode);

    [LoggerMessage(4014, LogLevel.Information, "Token {Key} #{Rejected} was already replaced by #{Current}; no fetch needed")]
    public static partial void TokenAlreadyReplaced(ILogger logger, string key, string rejected, string current);

    [LoggerMessage(4015, LogLevel.Warning, "stable_token force_refresh for {Key} skipped: {Reason}")]
    public static partial void ForceRefreshSkipped(ILogger logger, string key, string reason);

    [LoggerMessage(4016, LogLevel.Warning, "stable_token force_refresh for {Key} ({Count} today)")]
    public static partial void ForceRefresh(ILogger logger, string key, int count);

    [LoggerMessage(4017, LogLevel.Warning, "Lost the token lease for {Key} while fetching; using the fetched token in this process only")]
    public static partial void LeaseLost(ILogger logger, string key);

    [LoggerMessage(4018, LogLevel.Warning, "Token {Key} #{Fingerprint} was refused but WeChat just returned it again; not fetching again for 30 s")]
    public static partial void TokenReconfirmed(ILogger logger, string key, string fingerprint);

    [LoggerMessage(4019, LogLevel.Warning, "Could not release the token lease for {Key} ({ReleaseError}) after a failed fetch ({FetchError}); it will expire")]
    public static partial void LeaseReleaseFailed(ILogger logger, string key, string releaseError, string fetchError);

    [LoggerMessage(4020, LogLevel.Information, "Stored component_verify_ticket #{Fingerprint} for {ComponentAppId} ({CreateTime:O})")]
    public static partial void VerifyTicketStored(ILogger logger, string componentAppId, string fingerprint, DateTimeOffset createTime);

    [LoggerMessage(4021, LogLevel.Information, "Component {ComponentAppId} event {InfoType} for authorizer {AuthorizerAppId}")]
    public static partial void ComponentEvent(ILogger logger, string componentAppId, string infoType, string? authorizerAppId);

    [LoggerMessage(4022, LogLevel.Information, "Ignored component_verify_ticket #{Fingerprint} for {ComponentAppId} ({CreateTime:O}): a newer one is stored")]
    public static partial void VerifyTicketStale(ILogger logger, string componentAppId, string fingerprint, DateTimeOffset createTime);
}
