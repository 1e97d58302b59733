using OneId.Server.Configuration;
using OneId.WeChat.Ids;
using OneId.WeChat.Tokens;

namespace OneId.Server.Application;

/// <summary>Apps that act through a third-party platform (S7).</summary>
public static class PlatformApps
{
    /// <summary>
    /// Throws <see cref="PlatformNotAuthorizedException"/> when <paramref name="app"/> acts through its platform and
    /// has not authorized it: no authorizer_refresh_token is stored, so no API call can be made for it
    /// (docs/wechat-api.md §5.4, §5.5). Does nothing for any other app.
    /// </summary>
    public static async Task EnsureAuthorizedAsync(ITokenStore tokens, AppOptions app, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(app);
        if (!app.ActsThroughPlatform)
        {
            return;
        }
        var component = AppId.Parse(app.ComponentAppId!);
        var authorizer = AppId.Parse(app.AppId);
        if (await tokens.GetAuthorizerRefreshTokenAsync(component, authorizer, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new PlatformNotAuthorizedException(component, authorizer);
        }
    }
}
