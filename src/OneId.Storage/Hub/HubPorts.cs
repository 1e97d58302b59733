using OneId.Graph;

namespace OneId.Storage.Hub;

// The hub's own rows, beside the graph's in each tenant's database. The hub depends on these ports only; the SQL
// behind them (SqlHubStore) is this project's business. Keys and tokens are stored as hashes, never as values.

public sealed record StoredApiKey(IReadOnlySet<DataTier> Tiers, bool Admin);

public sealed record StoredSession(string AppId, string OpenId, PersonId? Person, string ProtectedSessionKey, DateTimeOffset ExpiresAt);

/// <summary>A login session to store: the token's hash, never the token; the session_key already encrypted.</summary>
public sealed record NewSession(string Hash, string AppId, string OpenId, PersonId? Person, string ProtectedSessionKey, DateTimeOffset ExpiresAt);

public sealed record OAuthState(string AppId, string Scope, string? ReturnTo);

public sealed record WebhookCursor(long Sequence, int Attempts, DateTimeOffset NextAttemptAt);

/// <summary>API keys (hashes only).</summary>
public interface IApiKeyStore
{
    /// <summary>Adds a key; a key already stored stays as it is (idempotent).</summary>
    Task<int> AddApiKeyAsync(string hash, IEnumerable<DataTier> tiers, bool admin, CancellationToken ct);

    Task<StoredApiKey?> FindApiKeyAsync(string hash, CancellationToken ct);
}

/// <summary>
/// The hub's login sessions. Writes come in batches (logins arriving together share one commit); a store that can
/// put them in the graph write's transaction may do so behind this port.
/// </summary>
public interface ILoginSessionStore
{
    Task AddSessionsAsync(IReadOnlyList<NewSession> sessions, CancellationToken ct);

    /// <summary>The live (not revoked, not expired) session with this token hash, or null.</summary>
    Task<StoredSession?> FindSessionAsync(string hash, CancellationToken ct);

    Task<int> RevokeSessionAsync(string hash, CancellationToken ct);
}

/// <summary>CSRF states of OA web authorization: single-use and short-lived.</summary>
public interface IOAuthStateStore
{
    Task<int> AddOAuthStateAsync(string state, string appId, string scope, string? returnTo, DateTimeOffset expiresAt, CancellationToken ct);

    /// <summary>Takes a state once: a replayed or expired state gives null.</summary>
    Task<OAuthState?> TakeOAuthStateAsync(string state, string appId, CancellationToken ct);
}

/// <summary>Dedupe keys of WeChat pushes (WeChat retries a push it got no answer for).</summary>
public interface ICallbackDedupe
{
    /// <summary>Records a callback key; false when it was seen before (a WeChat retry).</summary>
    Task<bool> FirstSeenAsync(string key, CancellationToken ct);

    /// <summary>Forgets a key whose processing failed, so that WeChat's retry is processed again.</summary>
    Task<int> ForgetSeenAsync(string key, CancellationToken ct);
}

/// <summary>Where each webhook's delivery stands, and which hub instance delivers it now.</summary>
public interface IWebhookCursorStore
{
    Task<WebhookCursor> GetWebhookCursorAsync(string webhook, CancellationToken ct);

    /// <summary>Takes (or renews) the right to deliver <paramref name="webhook"/> until <paramref name="until"/>; false while another instance holds it.</summary>
    Task<bool> TryLeaseWebhookAsync(string webhook, string owner, DateTimeOffset until, CancellationToken ct);

    /// <summary>Gives up every webhook lease of <paramref name="owner"/> (on shutdown, so that the next instance starts at once).</summary>
    Task<int> ReleaseWebhookLeasesAsync(string owner, CancellationToken ct);

    Task<int> SaveWebhookCursorAsync(string webhook, long seq, int attempts, DateTimeOffset nextAttemptAt, string? lastError, CancellationToken ct);
}

/// <summary>WeCom pending_ids the hub was given, with their expiry.</summary>
public interface IPendingIdStore
{
    Task<int> AddPendingIdAsync(string corpNamespace, string pendingId, string unionId, PersonId? person, DateTimeOffset expiresAt, CancellationToken ct);

    Task<int> ClosePendingIdAsync(string corpNamespace, string pendingId, CancellationToken ct);
}

/// <summary>Named checkpoints of long work (backfills resume where they stopped).</summary>
public interface ICheckpointStore
{
    Task<string?> GetCheckpointAsync(string name, CancellationToken ct);

    Task<int> SaveCheckpointAsync(string name, string value, CancellationToken ct);

    Task<int> DeleteCheckpointAsync(string name, CancellationToken ct);
}

/// <summary>Third-party platform state: when each INFO event last arrived (the ticket itself lives in the token store).</summary>
public interface IComponentStateStore
{
    Task<int> SetComponentStateAsync(string componentAppId, string name, string value, CancellationToken ct);
}
