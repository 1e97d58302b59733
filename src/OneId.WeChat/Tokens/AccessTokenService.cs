using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneId.WeChat.Clients;
using OneId.WeChat.Http;
using OneId.WeChat.Ids;
using OneId.WeChat.Models;

namespace OneId.WeChat.Tokens;

/// <summary>
/// <see cref="IAccessTokenService"/> over an <see cref="ITokenStore"/>. Three layers keep fetches to one per token lifetime:
/// the memory cache (no I/O on the hot path), a per-key semaphore (one caller per process goes further), and the store's
/// lease (one process fetches; the others poll the store for its result).
/// </summary>
public sealed class AccessTokenService : IAccessTokenService
{
    private static readonly TimeSpan BeijingOffset = TimeSpan.FromHours(8);

    private readonly ITokenStore _store;
    private readonly IWeChatCredentialProvider _credentials;
    private readonly IServiceProvider _services;
    private readonly WeChatTokenOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AccessTokenService> _logger;
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    /// <param name="services">
    /// Resolves the credential clients per fetch: they are typed HttpClients, meant to be short-lived so that
    /// IHttpClientFactory can rotate their handlers; this service is a singleton.
    /// </param>
    public AccessTokenService(ITokenStore store, IWeChatCredentialProvider credentials, IServiceProvider services,
        IOptions<WeChatOptions> options, TimeProvider time, ILogger<AccessTokenService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _credentials = credentials;
        _services = services;
        _options = options.Value.Tokens;
        _time = time;
        _logger = logger;
    }

    /// <summary>This process's lease owner id (diagnostics and tests).</summary>
    public string Owner => _owner;

    public async ValueTask<AccessToken> GetTokenAsync(TokenKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (TryFromCache(key, _time.GetUtcNow()) is { } cached)
        {
            return cached;
        }
        var gate = Gate(key);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return TryFromCache(key, _time.GetUtcNow()) ?? await ObtainAsync(key, rejected: null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public async ValueTask<AccessToken> RefreshAsync(TokenKey key, string? rejectedToken, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var gate = Gate(key);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Without a named token, the one this process holds is the one being refused.
            rejectedToken ??= _cache.TryGetValue(key.StoreKey, out var held) ? held.Token.Value : string.Empty;
            var now = _time.GetUtcNow();
            if (_cache.TryGetValue(key.StoreKey, out var entry) && now < entry.Token.ExpiresAt)
            {
                // Callers that were refused together queue here; all but the first find the replacement already cached.
                if (entry.Token.Value != rejectedToken)
                {
                    WeChatLog.TokenAlreadyReplaced(_logger, key.StoreKey, SecretFingerprint.Of(rejectedToken), entry.Token.Fingerprint);
                    return entry.Token;
                }
                // WeChat handed this very token back moments ago after a refusal (and no force_refresh was allowed): asking
                // again for every queued caller would be the storm this service exists to prevent. They retry once and fail.
                if (entry.ReconfirmedAt is { } at && now - at < _options.MinForcedRefreshInterval)
                {
                    WeChatLog.TokenReconfirmed(_logger, key.StoreKey, entry.Token.Fingerprint);
                    return entry.Token;
                }
            }
            return await ObtainAsync(key, rejectedToken, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public async ValueTask<bool> OfferAsync(TokenKey key, string token, int expiresIn, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expiresIn);
        var gate = Gate(key);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var lease = await _store.TryAcquireLeaseAsync(key.StoreKey, _owner, now, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
            if (lease is null)
            {
                return false;
            }
            var previous = await _store.GetTokenAsync(key.StoreKey, cancellationToken).ConfigureAwait(false);
            // The offered token is the newest WeChat issued; keep the force_refresh bookkeeping of the previous one.
            var offered = new StoredToken(key.StoreKey, token, now, now.AddSeconds(expiresIn), previous?.ForcedDay, previous?.ForcedCount ?? 0, previous?.LastForcedAt);
            var saved = await _store.SaveTokenAsync(lease, offered, cancellationToken).ConfigureAwait(false);
            if (saved)
            {
                Remember(key, offered, now);
            }
            return saved;
        }
        finally
        {
            gate.Release();
        }
    }

    public void Evict(TokenKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _cache.TryRemove(key.StoreKey, out _);
    }

    private AccessToken? TryFromCache(TokenKey key, DateTimeOffset now) =>
        _cache.TryGetValue(key.StoreKey, out var entry) && now < RefreshAt(entry.Token) && now - entry.CheckedAt < _options.StoreRecheckInterval
            ? entry.Token
            : null;

    /// <summary>Reads the store, takes the lease and fetches, or waits for the process that holds the lease. Caller holds the key's gate.</summary>
    /// <param name="rejected">Null for a normal get; the refused token (or "") for a refresh.</param>
    private async Task<AccessToken> ObtainAsync(TokenKey key, string? rejected, CancellationToken cancellationToken)
    {
        var waitStarted = _time.GetTimestamp();
        var loggedWait = false;
        while (true)
        {
            var now = _time.GetUtcNow();
            var stored = await _store.GetTokenAsync(key.StoreKey, cancellationToken).ConfigureAwait(false);
            if (Acceptable(stored, rejected, now))
            {
                return Remember(key, stored!, now);
            }

            var lease = await _store.TryAcquireLeaseAsync(key.StoreKey, _owner, now, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
            if (lease is not null)
            {
                return await FetchUnderLeaseAsync(key, lease, rejected, cancellationToken).ConfigureAwait(false);
            }

            // Another process is fetching. A normal get may keep using the current token while it is still valid (it is only
            // inside its refresh-ahead window); a refresh after a refusal must wait for a different token.
            if (rejected is null && stored is not null && now < stored.ExpiresAt)
            {
                return stored.ToAccessToken();
            }
            if (_time.GetElapsedTime(waitStarted) > _options.LeaseWaitTimeout)
            {
                throw new WeChatApiException($"token {key}", $"timed out after {_options.LeaseWaitTimeout} waiting for another OneId process to fetch the token", isTransient: true);
            }
            if (!loggedWait)
            {
                WeChatLog.WaitingForLease(_logger, key.StoreKey);
                loggedWait = true;
            }
            await Task.Delay(_options.StorePollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<AccessToken> FetchUnderLeaseAsync(TokenKey key, TokenLease lease, string? rejected, CancellationToken cancellationToken)
    {
        try
        {
            // The previous holder may have saved between our read and our acquire.
            var now = _time.GetUtcNow();
            var stored = await _store.GetTokenAsync(key.StoreKey, cancellationToken).ConfigureAwait(false);
            if (Acceptable(stored, rejected, now))
            {
                await _store.ReleaseLeaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
                return Remember(key, stored!, now);
            }

            var fetched = await FetchAsync(key, stored, rejected, cancellationToken).ConfigureAwait(false);
            if (!await _store.SaveTokenAsync(lease, fetched, cancellationToken).ConfigureAwait(false))
            {
                WeChatLog.LeaseLost(_logger, key.StoreKey);
            }
            now = _time.GetUtcNow();
            return Remember(key, fetched, now, reconfirmedAt: rejected is not null && fetched.Value == rejected ? now : null);
        }
        catch (Exception ex)
        {
            try
            {
                await _store.ReleaseLeaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception releaseError) when (releaseError is not OperationCanceledException)
            {
                // The fetch error is the one to report; the lease expires by itself.
                WeChatLog.LeaseReleaseFailed(_logger, key.StoreKey, releaseError.Message, ex.Message);
            }
            throw;
        }
    }

    private bool Acceptable(StoredToken? stored, string? rejected, DateTimeOffset now) =>
        stored is not null && (rejected is null
            ? now < RefreshAt(stored.ToAccessToken())
            : stored.Value != rejected && now < stored.ExpiresAt);

    private AccessToken Remember(TokenKey key, StoredToken stored, DateTimeOffset now, DateTimeOffset? reconfirmedAt = null)
    {
        var token = stored.ToAccessToken();
        _cache[key.StoreKey] = new CacheEntry(token, now, reconfirmedAt);
        return token;
    }

    /// <summary>When to refresh: <see cref="WeChatTokenOptions.RefreshBeforeExpiry"/> early, or half-way for short-lived tokens.</summary>
    private DateTimeOffset RefreshAt(AccessToken token)
    {
        var lifetime = token.ExpiresAt - token.IssuedAt;
        var ahead = lifetime / 2 < _options.RefreshBeforeExpiry ? lifetime / 2 : _options.RefreshBeforeExpiry;
        return token.ExpiresAt - ahead;
    }

    private async Task<StoredToken> FetchAsync(TokenKey key, StoredToken? previous, string? rejected, CancellationToken cancellationToken)
    {
        var issuedAt = _time.GetUtcNow();
        var wechat = _services.GetRequiredService<WeChatCredentialClient>();
        string value;
        int expiresIn;
        string endpoint;
        var forcedDay = previous?.ForcedDay;
        var forcedCount = previous?.ForcedCount ?? 0;
        var lastForced = previous?.LastForcedAt;

        switch (key.Kind)
        {
            case TokenKind.App:
            {
                var appId = AppId.Parse(key.Id);
                var credential = await _credentials.GetAppAsync(appId, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"No AppSecret is configured for app {appId}; add it to OneId:WeChat:Apps.");
                if (credential.TokenEndpoint == AppTokenEndpoint.Token)
                {
                    endpoint = "cgi-bin/token";
                    var response = await wechat.GetAccessTokenAsync(appId, credential.Secret, cancellationToken).ConfigureAwait(false);
                    (value, expiresIn) = (response.AccessToken, response.ExpiresIn);
                    break;
                }

                endpoint = "cgi-bin/stable_token";
                var stable = await wechat.GetStableAccessTokenAsync(appId, credential.Secret, forceRefresh: false, cancellationToken).ConfigureAwait(false);
                if (rejected is not null && stable.AccessToken == rejected)
                {
                    // Normal mode hands back the token WeChat just refused. Only force_refresh replaces it, and it is
                    // limited: 20 a day, and a second one within 30 s does nothing (§1.2). Respect both.
                    var today = (issuedAt + BeijingOffset).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
                    if (forcedDay != today)
                    {
                        (forcedDay, forcedCount) = (today, 0);
                    }
                    if (forcedCount >= _options.MaxForcedRefreshesPerDay)
                    {
                        WeChatLog.ForceRefreshSkipped(_logger, key.StoreKey, $"{forcedCount} forced refreshes already today");
                    }
                    else if (lastForced is { } last && issuedAt - last < _options.MinForcedRefreshInterval)
                    {
                        WeChatLog.ForceRefreshSkipped(_logger, key.StoreKey, "the previous one was less than 30 s ago");
                    }
                    else
                    {
                        forcedCount++;
                        lastForced = issuedAt;
                        WeChatLog.ForceRefresh(_logger, key.StoreKey, forcedCount);
                        stable = await wechat.GetStableAccessTokenAsync(appId, credential.Secret, forceRefresh: true, cancellationToken).ConfigureAwait(false);
                    }
                }
                (value, expiresIn) = (stable.AccessToken, stable.ExpiresIn);
                break;
            }
            case TokenKind.Component:
            {
                var componentAppId = AppId.Parse(key.Id);
                var credential = await _credentials.GetComponentAsync(componentAppId, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"No component secret is configured for {componentAppId}; add it to OneId:WeChat:Components.");
                var ticket = await _store.GetVerifyTicketAsync(componentAppId, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException(
                        $"No component_verify_ticket has been received for {componentAppId} yet. WeChat pushes one every 10 minutes to the authorization event URL; check that URL and its Token/EncodingAESKey, or call api_start_push_ticket.");
                endpoint = "cgi-bin/component/api_component_token";
                var response = await wechat.GetComponentAccessTokenAsync(componentAppId, credential.Secret, ticket.Ticket, cancellationToken).ConfigureAwait(false);
                (value, expiresIn) = (response.ComponentAccessToken, response.ExpiresIn);
                break;
            }
            case TokenKind.Authorizer:
            {
                var componentAppId = AppId.Parse(key.Id);
                var authorizerAppId = AppId.Parse(key.SubId!);
                var refreshToken = await _store.GetAuthorizerRefreshTokenAsync(componentAppId, authorizerAppId, cancellationToken).ConfigureAwait(false)
                    ?? throw new PlatformNotAuthorizedException(componentAppId, authorizerAppId);
                endpoint = "cgi-bin/component/api_authorizer_token";
                var componentKey = TokenKey.Component(componentAppId);
                var componentToken = await GetTokenAsync(componentKey, cancellationToken).ConfigureAwait(false);
                AuthorizerTokenResponse response;
                try
                {
                    response = await wechat.GetAuthorizerAccessTokenAsync(componentToken.Value, componentAppId, authorizerAppId, refreshToken, cancellationToken).ConfigureAwait(false);
                }
                catch (WeChatApiException ex) when (ex.IsInvalidToken)
                {
                    componentToken = await RefreshAsync(componentKey, componentToken.Value, cancellationToken).ConfigureAwait(false);
                    response = await wechat.GetAuthorizerAccessTokenAsync(componentToken.Value, componentAppId, authorizerAppId, refreshToken, cancellationToken).ConfigureAwait(false);
                }
                if (!string.IsNullOrEmpty(response.AuthorizerRefreshToken) && response.AuthorizerRefreshToken != refreshToken)
                {
                    // Always persist what WeChat returns; it is usually unchanged (§5.5).
                    await _store.SaveAuthorizerRefreshTokenAsync(componentAppId, authorizerAppId, response.AuthorizerRefreshToken, cancellationToken).ConfigureAwait(false);
                }
                (value, expiresIn) = (response.AuthorizerAccessToken, response.ExpiresIn);
                break;
            }
            case TokenKind.WeCom:
            {
                var corpId = CorpId.Parse(key.Id);
                var credential = await _credentials.GetWeComAppAsync(corpId, key.SubId!, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"No secret is configured for WeCom app {corpId}:{key.SubId}; add it to OneId:WeChat:WeComApps.");
                endpoint = "cgi-bin/gettoken";
                var response = await _services.GetRequiredService<WeComCredentialClient>().GetTokenAsync(corpId, credential.Secret, cancellationToken).ConfigureAwait(false);
                (value, expiresIn) = (response.AccessToken, response.ExpiresIn);
                break;
            }
            default:
                throw new InvalidOperationException($"Unknown token kind {key.Kind}.");
        }

        if (string.IsNullOrEmpty(value) || expiresIn <= 0)
        {
            throw new WeChatApiException(endpoint, "the answer has no access token or no expires_in", isTransient: false);
        }
        var token = new StoredToken(key.StoreKey, value, issuedAt, issuedAt.AddSeconds(expiresIn), forcedDay, forcedCount, lastForced);
        WeChatLog.TokenFetched(_logger, key.StoreKey, SecretFingerprint.Of(value), endpoint, token.ExpiresAt);
        return token;
    }

    private SemaphoreSlim Gate(TokenKey key) => _gates.GetOrAdd(key.StoreKey, static _ => new SemaphoreSlim(1, 1));

    /// <param name="ReconfirmedAt">When a refresh after a refusal got this same token back from WeChat.</param>
    private sealed record CacheEntry(AccessToken Token, DateTimeOffset CheckedAt, DateTimeOffset? ReconfirmedAt = null);
}
