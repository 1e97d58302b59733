using System.Collections.Concurrent;
using System.Security.Cryptography;
using OneId.Sandbox.Endpoints;

namespace OneId.Sandbox.State;

internal enum TokenKind
{
    /// <summary>cgi-bin/token (§1.1).</summary>
    App,

    /// <summary>cgi-bin/stable_token (§1.2).</summary>
    Stable,

    /// <summary>WeCom gettoken (§6.1), per corp app.</summary>
    WeCom,

    /// <summary>component_access_token (§5.2).</summary>
    Component,

    /// <summary>authorizer_access_token (§5.4/5.5): acts for the authorizer app.</summary>
    Authorizer,

    /// <summary>User-level sns access_token (§3.2).</summary>
    SnsUser,

    /// <summary>WeCom suite_access_token of a provider's suite (§6.8).</summary>
    Suite,

    /// <summary>WeCom provider_access_token of a service provider (its id-upgrade APIs).</summary>
    Provider,
}

/// <summary>One issued access token.</summary>
internal sealed class TokenGrant
{
    public required string Token { get; init; }
    public required TokenKind Kind { get; init; }

    /// <summary>appid (App, Stable, Authorizer, SnsUser), corpid/app name (WeCom) or component appid.</summary>
    public required string Owner { get; init; }

    public string? ComponentAppid { get; init; }
    public string? User { get; init; }
    public string? OpenId { get; init; }
    public string? Scope { get; init; }
    public bool Snapshot { get; init; }
    public string? RefreshToken { get; set; }
    public DateTimeOffset IssuedAt { get; init; }

    private long _expiresAtTicks;
    private volatile bool _superseded;

    /// <summary>
    /// Written under the owner's lock; read without one (as UTC ticks, atomically), so checking a token on every
    /// business call never contends with other callers of the same app.
    /// </summary>
    public DateTimeOffset ExpiresAt
    {
        get => new(Interlocked.Read(ref _expiresAtTicks), TimeSpan.Zero);
        set => Interlocked.Exchange(ref _expiresAtTicks, value.UtcTicks);
    }

    /// <summary>Ended by a newer token rather than by age: such tokens answer 40001, not 42001.</summary>
    public bool Superseded
    {
        get => _superseded;
        set => _superseded = value;
    }
}

/// <summary>A user-level sns refresh token (§3.3): 30 days, not extendable.</summary>
internal sealed class SnsRefreshGrant
{
    public required string RefreshToken { get; init; }
    public required string Appid { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public required TokenGrant Access { get; set; }
}

/// <summary>
/// Issues and checks every access token, with the per-endpoint semantics of docs/wechat-api.md §10.1. Thread-safe:
/// each owner (appid, corp app, component) has its own lock, so concurrent callers of one app are serialized
/// and callers of different apps are not.
/// </summary>
internal sealed class TokenAuthority(SandboxClock clock, QuotaBook quotas, SandboxLimits limits)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(7200);
    public static readonly TimeSpan GraceWindow = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan ForceRefreshDebounce = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SnsRefreshLifetime = TimeSpan.FromDays(30);

    private readonly ConcurrentDictionary<string, TokenGrant> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SnsRefreshGrant> _refreshTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OwnerState> _owners = new(StringComparer.Ordinal);
    private long _issued;

    private sealed class OwnerState
    {
        public readonly Lock Gate = new();
        public TokenGrant? Latest;
        public DateTimeOffset? LastForcedAt;
    }

    /// <summary>cgi-bin/token: a new token every call; the previous one keeps working for 300 s (§1.1).</summary>
    public TokenGrant IssueAppToken(string appid)
    {
        var state = _owners.GetOrAdd("app:" + appid, _ => new OwnerState());
        lock (state.Gate)
        {
            var now = clock.GetUtcNow();
            if (state.Latest is { } previous && previous.ExpiresAt > now + GraceWindow)
            {
                previous.Superseded = true;
                previous.ExpiresAt = now + GraceWindow;
            }
            state.Latest = Register(TokenKind.App, appid, now);
            return state.Latest;
        }
    }

    /// <summary>
    /// cgi-bin/stable_token (§1.2). Normal mode repeats the token until less than 300 s remain, then rotates and
    /// lets the old one live to its own expiry. Force mode issues a new token and kills the previous one at once
    /// (the doc leaves open whether one forced call keeps a grace window; we chose no grace, the stricter reading,
    /// so that a leaked token really dies); a second forced call within 30 s is a no-op, and more than 20 forced
    /// calls a day give 45009.
    /// </summary>
    public TokenGrant IssueStableToken(string appid, bool forceRefresh)
    {
        var state = _owners.GetOrAdd("stable:" + appid, _ => new OwnerState());
        lock (state.Gate)
        {
            var now = clock.GetUtcNow();
            var current = state.Latest is { } latest && latest.ExpiresAt > now ? latest : null;
            if (forceRefresh)
            {
                if (current is not null && state.LastForcedAt is { } last && now - last < ForceRefreshDebounce)
                {
                    return current;
                }
                if (!quotas.TryHit("stable-force:" + appid, limits.StableTokenForceRefreshPerDay, QuotaWindow.Day))
                {
                    throw new WeChatApiException(45009);
                }
                state.LastForcedAt = now;
                if (current is not null)
                {
                    current.Superseded = true;
                    current.ExpiresAt = now;
                }
                state.Latest = Register(TokenKind.Stable, appid, now);
                return state.Latest;
            }
            if (current is not null && current.ExpiresAt - now > GraceWindow)
            {
                return current;
            }
            // Last 5 minutes (or none yet): rotate; the old token stays valid until its own expiry.
            state.Latest = Register(TokenKind.Stable, appid, now);
            return state.Latest;
        }
    }

    /// <summary>WeCom gettoken: the same token while it lives (§6.1).</summary>
    public TokenGrant IssueWeComToken(string corpAppKey) => IssueWhileAlive(TokenKind.WeCom, "wecom:", corpAppKey);

    /// <summary>suite_access_token: the same token while it lives, like gettoken.</summary>
    public TokenGrant IssueSuiteToken(string suiteId) => IssueWhileAlive(TokenKind.Suite, "suite:", suiteId);

    /// <summary>provider_access_token: the same token while it lives, like gettoken.</summary>
    public TokenGrant IssueProviderToken(string provider) => IssueWhileAlive(TokenKind.Provider, "provider:", provider);

    private TokenGrant IssueWhileAlive(TokenKind kind, string prefix, string owner)
    {
        var state = _owners.GetOrAdd(prefix + owner, _ => new OwnerState());
        lock (state.Gate)
        {
            var now = clock.GetUtcNow();
            if (state.Latest is { } latest && latest.ExpiresAt > now)
            {
                return latest;
            }
            state.Latest = Register(kind, owner, now);
            return state.Latest;
        }
    }

    /// <summary>component_access_token: 7200 s; earlier ones keep their own expiry (§5.2, no invalidation documented).</summary>
    public TokenGrant IssueComponentToken(string componentAppid) => Register(TokenKind.Component, componentAppid, clock.GetUtcNow());

    /// <summary>authorizer_access_token: 7200 s (§5.5).</summary>
    public TokenGrant IssueAuthorizerToken(string componentAppid, string authorizerAppid) =>
        Register(TokenKind.Authorizer, authorizerAppid, clock.GetUtcNow(), componentAppid: componentAppid);

    /// <summary>sns/oauth2/access_token: a user token (7200 s) and its refresh token (30 days).</summary>
    public TokenGrant IssueSnsToken(string appid, string user, string openid, string scope, bool snapshot, string? componentAppid)
    {
        var now = clock.GetUtcNow();
        var access = Register(TokenKind.SnsUser, appid, now, user, openid, scope, snapshot, componentAppid);
        var refresh = new SnsRefreshGrant { RefreshToken = RandomToken(110), Appid = appid, ExpiresAt = now + SnsRefreshLifetime, Access = access };
        access.RefreshToken = refresh.RefreshToken;
        _refreshTokens[refresh.RefreshToken] = refresh;
        return access;
    }

    /// <summary>
    /// sns/oauth2/refresh_token (§3.3): the same access_token with a new expiry while it is valid, otherwise a new
    /// one; the refresh token itself is never extended (40030 unknown, 42002 after 30 days).
    /// </summary>
    public TokenGrant RefreshSnsToken(string appid, string refreshToken)
    {
        if (!_refreshTokens.TryGetValue(refreshToken, out var refresh) || refresh.Appid != appid)
        {
            throw new WeChatApiException(40030);
        }
        var state = _owners.GetOrAdd("sns-refresh:" + refreshToken, _ => new OwnerState());
        lock (state.Gate)
        {
            var now = clock.GetUtcNow();
            if (refresh.ExpiresAt <= now)
            {
                throw new WeChatApiException(42002);
            }
            var access = refresh.Access;
            if (access.ExpiresAt > now)
            {
                access.ExpiresAt = now + Lifetime;
                return access;
            }
            var renewed = Register(TokenKind.SnsUser, appid, now, access.User, access.OpenId, access.Scope, access.Snapshot, access.ComponentAppid);
            renewed.RefreshToken = refreshToken;
            refresh.Access = renewed;
            return renewed;
        }
    }

    /// <summary>
    /// Checks a token on a business API: 41001 missing, 40001 unknown or superseded (the "not latest" case of
    /// §0.1), 42001 expired by age.
    /// </summary>
    public TokenGrant Require(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw new WeChatApiException(41001);
        }
        if (!_tokens.TryGetValue(token, out var grant))
        {
            throw new WeChatApiException(40001);
        }
        // Superseded is set before ExpiresAt is shortened, so a token seen expired is seen superseded too.
        if (grant.ExpiresAt <= clock.GetUtcNow())
        {
            throw new WeChatApiException(grant.Superseded ? 40001 : 42001);
        }
        return grant;
    }

    /// <summary>Seconds left on a grant, as returned in expires_in.</summary>
    public int SecondsLeft(TokenGrant grant) => (int)Math.Max(0, Math.Ceiling((grant.ExpiresAt - clock.GetUtcNow()).TotalSeconds));

    private TokenGrant Register(TokenKind kind, string owner, DateTimeOffset now, string? user = null, string? openid = null,
        string? scope = null, bool snapshot = false, string? componentAppid = null)
    {
        var grant = new TokenGrant
        {
            Token = RandomToken(kind == TokenKind.SnsUser ? 110 : 136),
            Kind = kind,
            Owner = owner,
            User = user,
            OpenId = openid,
            Scope = scope,
            Snapshot = snapshot,
            ComponentAppid = componentAppid,
            IssuedAt = now,
            ExpiresAt = now + Lifetime,
        };
        _tokens[grant.Token] = grant;
        if (Interlocked.Increment(ref _issued) % 50_000 == 0)
        {
            Prune(now);
        }
        return grant;
    }

    /// <summary>Forgets tokens dead for a day (benchmarks issue millions); they would answer 40001 instead of 42001.</summary>
    private void Prune(DateTimeOffset now)
    {
        foreach (var (token, grant) in _tokens)
        {
            if (grant.ExpiresAt < now - TimeSpan.FromDays(1))
            {
                _tokens.TryRemove(token, out _);
            }
        }
        foreach (var (token, refresh) in _refreshTokens)
        {
            if (refresh.ExpiresAt < now)
            {
                _refreshTokens.TryRemove(token, out _);
                _owners.TryRemove("sns-refresh:" + token, out _);
            }
        }
    }

    /// <summary>Random token text; real tokens run to ~140 characters (clients must keep 512).</summary>
    internal static string RandomToken(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        // One read of the RNG per token, not one per character: 64 symbols, so byte % 64 is unbiased.
        return "99_" + string.Create(length - 3, 0, static (span, _) =>
        {
            Span<byte> random = stackalloc byte[span.Length];
            RandomNumberGenerator.Fill(random);
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[random[i] % alphabet.Length];
            }
        });
    }
}
