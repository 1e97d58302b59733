using OneId.WeChat.Ids;
using OneId.WeChat.Tokens;

namespace OneId.WeChat.Tests.Support;

/// <summary>A token store that counts token reads, so a test can wait until a caller is polling the store.</summary>
internal sealed class CountingTokenStore(ITokenStore inner) : ITokenStore
{
    private int _reads;

    /// <summary>GetTokenAsync calls so far.</summary>
    public int Reads => Volatile.Read(ref _reads);

    public Task<StoredToken?> GetTokenAsync(string key, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        return inner.GetTokenAsync(key, cancellationToken);
    }

    public Task<TokenLease?> TryAcquireLeaseAsync(string key, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken) =>
        inner.TryAcquireLeaseAsync(key, owner, now, duration, cancellationToken);

    public Task<bool> SaveTokenAsync(TokenLease lease, StoredToken token, CancellationToken cancellationToken) => inner.SaveTokenAsync(lease, token, cancellationToken);

    public Task ReleaseLeaseAsync(TokenLease lease, CancellationToken cancellationToken) => inner.ReleaseLeaseAsync(lease, cancellationToken);

    public Task<ComponentVerifyTicket?> GetVerifyTicketAsync(AppId componentAppId, CancellationToken cancellationToken) => inner.GetVerifyTicketAsync(componentAppId, cancellationToken);

    public Task<bool> SaveVerifyTicketAsync(ComponentVerifyTicket ticket, CancellationToken cancellationToken) => inner.SaveVerifyTicketAsync(ticket, cancellationToken);

    public Task<string?> GetAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken) =>
        inner.GetAuthorizerRefreshTokenAsync(componentAppId, authorizerAppId, cancellationToken);

    public Task SaveAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, string refreshToken, CancellationToken cancellationToken) =>
        inner.SaveAuthorizerRefreshTokenAsync(componentAppId, authorizerAppId, refreshToken, cancellationToken);

    public Task DeleteAuthorizerAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken) =>
        inner.DeleteAuthorizerAsync(componentAppId, authorizerAppId, cancellationToken);
}
