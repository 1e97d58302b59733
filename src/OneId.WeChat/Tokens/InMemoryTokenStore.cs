using OneId.WeChat.Ids;

namespace OneId.WeChat.Tokens;

/// <summary>A process-local <see cref="ITokenStore"/>: right for a single OneId process and for tests.</summary>
public sealed class InMemoryTokenStore : ITokenStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, StoredToken> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TokenLease> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ComponentVerifyTicket> _tickets = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string), string> _refreshTokens = new();

    public Task<StoredToken?> GetTokenAsync(string key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_tokens.GetValueOrDefault(key));
        }
    }

    public Task<TokenLease?> TryAcquireLeaseAsync(string key, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(key, out var held) && held.Owner != owner && held.ExpiresAt > now)
            {
                return Task.FromResult<TokenLease?>(null);
            }
            var lease = new TokenLease(key, owner, now + duration);
            _leases[key] = lease;
            return Task.FromResult<TokenLease?>(lease);
        }
    }

    public Task<bool> SaveTokenAsync(TokenLease lease, StoredToken token, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(lease.Key, out var held) && held.Owner != lease.Owner)
            {
                return Task.FromResult(false);
            }
            _tokens[token.Key] = token;
            _leases.Remove(lease.Key);
            return Task.FromResult(true);
        }
    }

    public Task ReleaseLeaseAsync(TokenLease lease, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_leases.TryGetValue(lease.Key, out var held) && held.Owner == lease.Owner)
            {
                _leases.Remove(lease.Key);
            }
            return Task.CompletedTask;
        }
    }

    public Task<ComponentVerifyTicket?> GetVerifyTicketAsync(AppId componentAppId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_tickets.GetValueOrDefault(componentAppId.Value));
        }
    }

    public Task<bool> SaveVerifyTicketAsync(ComponentVerifyTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        lock (_gate)
        {
            if (!_tickets.TryGetValue(ticket.ComponentAppId.Value, out var current) || current.CreateTime <= ticket.CreateTime)
            {
                _tickets[ticket.ComponentAppId.Value] = ticket;
                return Task.FromResult(true);
            }
            return Task.FromResult(false);
        }
    }

    public Task<string?> GetAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_refreshTokens.GetValueOrDefault((componentAppId.Value, authorizerAppId.Value)));
        }
    }

    public Task SaveAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, string refreshToken, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(refreshToken);
        lock (_gate)
        {
            _refreshTokens[(componentAppId.Value, authorizerAppId.Value)] = refreshToken;
            return Task.CompletedTask;
        }
    }

    public Task DeleteAuthorizerAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _refreshTokens.Remove((componentAppId.Value, authorizerAppId.Value));
            var key = TokenKey.Authorizer(componentAppId, authorizerAppId).StoreKey;
            _tokens.Remove(key);
            _leases.Remove(key);
            return Task.CompletedTask;
        }
    }
}
