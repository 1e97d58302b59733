using OneId.WeChat.Ids;

namespace OneId.WeChat.Tokens;

/// <summary>
/// An app that acts through a third-party platform has no authorizer token because it has not authorized the
/// platform yet, or revoked it: no <c>authorizer_refresh_token</c> is stored for it (it arrives only with the
/// authorization, docs/wechat-api.md §5.4, §5.5). Nothing but the app's admin authorizing the platform fixes it, so
/// callers answer "authorize first" instead of retrying.
/// </summary>
public sealed class PlatformNotAuthorizedException(AppId componentAppId, AppId authorizerAppId) : InvalidOperationException(
    $"{authorizerAppId} acts through third-party platform {componentAppId}, which it has not authorized yet (or the authorization was revoked): " +
    "have the app's admin authorize the platform, then try again.")
{
    public AppId ComponentAppId { get; } = componentAppId;
    public AppId AuthorizerAppId { get; } = authorizerAppId;
}
