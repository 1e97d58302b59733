using OneId.WeChat.Ids;

namespace OneId.WeChat.Tokens;

/// <summary>
/// Where tokens, leases, verify tickets and authorizer refresh tokens live, shared by every OneId process that uses one
/// database. Implementations: <see cref="InMemoryTokenStore"/> (one process), SQLite and PostgreSQL in OneId.Storage.
/// </summary>
/// <remarks>
/// The lease is what keeps N processes from fetching the same token N times (and, with cgi-bin/token or a forced
/// stable_token, from invalidating each other's tokens): only the lease holder calls WeChat; the others read the store
/// until the new token appears. Leases expire, so a crashed holder delays the others by at most the lease duration.
/// </remarks>
public interface ITokenStore
{
    /// <summary>The stored token for <paramref name="key"/>, or null.</summary>
    Task<StoredToken?> GetTokenAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the refresh lease for <paramref name="key"/> when nobody holds it or the holder's lease expired (by
    /// <paramref name="now"/>). Returns null when another owner holds a live lease.
    /// </summary>
    Task<TokenLease?> TryAcquireLeaseAsync(string key, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="token"/> and releases <paramref name="lease"/> in one step. Returns false (and writes
    /// nothing) when the lease was lost to another owner meanwhile.
    /// </summary>
    Task<bool> SaveTokenAsync(TokenLease lease, StoredToken token, CancellationToken cancellationToken);

    /// <summary>Releases <paramref name="lease"/> when still held by its owner (after a failed fetch).</summary>
    Task ReleaseLeaseAsync(TokenLease lease, CancellationToken cancellationToken);

    /// <summary>The latest component_verify_ticket of a third-party platform, or null.</summary>
    Task<ComponentVerifyTicket?> GetVerifyTicketAsync(AppId componentAppId, CancellationToken cancellationToken);

    /// <summary>
    /// Keeps <paramref name="ticket"/> unless a newer one (by <see cref="ComponentVerifyTicket.CreateTime"/>) is stored.
    /// True when it was stored, false when the stored one is newer and was kept.
    /// </summary>
    Task<bool> SaveVerifyTicketAsync(ComponentVerifyTicket ticket, CancellationToken cancellationToken);

    /// <summary>The persisted authorizer_refresh_token, or null when the app never authorized or revoked.</summary>
    Task<string?> GetAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken);

    /// <summary>Stores the authorizer_refresh_token returned by api_query_auth or api_authorizer_token.</summary>
    Task SaveAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, string refreshToken, CancellationToken cancellationToken);

    /// <summary>Forgets an authorizer (on the <c>unauthorized</c> event): its refresh token and cached token.</summary>
    Task DeleteAuthorizerAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken);
}

/// <summary>A persisted token with the bookkeeping for stable_token's force_refresh limits (§1.2).</summary>
/// <param name="Key">The <see cref="TokenKey.StoreKey"/>.</param>
/// <param name="Value">The token.</param>
/// <param name="IssuedAt">When it was fetched.</param>
/// <param name="ExpiresAt">IssuedAt + expires_in.</param>
/// <param name="ForcedDay">The (Beijing) day <paramref name="ForcedCount"/> counts for, as yyyy-MM-dd; null when never forced.</param>
/// <param name="ForcedCount">force_refresh calls made that day.</param>
/// <param name="LastForcedAt">The last force_refresh call.</param>
public sealed record StoredToken(
    string Key,
    string Value,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string? ForcedDay = null,
    int ForcedCount = 0,
    DateTimeOffset? LastForcedAt = null)
{
    public AccessToken ToAccessToken() => new(Value, IssuedAt, ExpiresAt);

    public override string ToString() => $"StoredToken({Key}, #{SecretFingerprint.Of(Value)}, expires {ExpiresAt:O})";
}

/// <summary>A held refresh lease.</summary>
public sealed record TokenLease(string Key, string Owner, DateTimeOffset ExpiresAt);

/// <summary>A component_verify_ticket as pushed every 10 minutes; valid 12 hours (§5.1).</summary>
public sealed record ComponentVerifyTicket(AppId ComponentAppId, string Ticket, DateTimeOffset CreateTime)
{
    public override string ToString() => $"ComponentVerifyTicket({ComponentAppId}, #{SecretFingerprint.Of(Ticket)}, {CreateTime:O})";
}
