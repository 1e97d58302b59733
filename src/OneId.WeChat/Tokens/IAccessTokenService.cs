namespace OneId.WeChat.Tokens;

/// <summary>
/// The one token service for OA / MP, component, authorizer and WeCom tokens: cached in memory, persisted in the
/// <see cref="ITokenStore"/> under a lease so that any number of OneId processes fetch each token once per lifetime.
/// </summary>
public interface IAccessTokenService
{
    /// <summary>A valid token for <paramref name="key"/>, refreshed ahead of expiry.</summary>
    ValueTask<AccessToken> GetTokenAsync(TokenKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// WeChat refused <paramref name="rejectedToken"/> (40001/40014/42001): returns a different, valid token. When another
    /// caller or process already replaced it, that token is returned without a fetch; otherwise the lease holder fetches
    /// (a stable_token force_refresh only if the normal call returns the refused token again, within the daily limit).
    /// </summary>
    ValueTask<AccessToken> RefreshAsync(TokenKey key, string? rejectedToken, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a token WeChat issued outside the service, such as the authorizer_access_token that api_query_auth returns
    /// (§5.4), so that it is not fetched again. Returns false when another process holds the lease (nothing is written).
    /// </summary>
    ValueTask<bool> OfferAsync(TokenKey key, string token, int expiresIn, CancellationToken cancellationToken = default);

    /// <summary>Drops this process's cached token for <paramref name="key"/> (after an authorizer revoked, say).</summary>
    void Evict(TokenKey key);
}
