using OneId.Graph;

namespace OneId.Storage.Hub;

// The hub's own rows, beside the graph's in each tenant's database. The hub depends on these ports only; the SQL
// behind them (SqlHubStore) is this project's business. Keys and tokens are stored as hashes, never as values.

/// <summary>An API key as stored: never the key itself.</summary>
/// <param name="Id">The first 12 hex digits of the key's SHA-256: names the key in lists, revocations and the audit log.</param>
/// <param name="Permission">read, write or admin.</param>
public sealed record StoredApiKey(IReadOnlySet<DataTier> Tiers, bool Admin)
{
    public string Id { get; init; } = "";
    public string? Name { get; init; }
    public string Permission { get; init; } = Admin ? "admin" : "read";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? LastUsedAt { get; init; }
}

/// <summary>What the store knows of a push's nonce: first seen now, seen before with the same body, or with another.</summary>
public enum NonceCheck
{
    New,
    SameBody,
    OtherBody,
}

public sealed record StoredSession(string AppId, string OpenId, PersonId? Person, string ProtectedSessionKey, DateTimeOffset ExpiresAt);

/// <summary>
/// A login session, written with the login's observation (<see cref="Observation.Attachment"/>) in the graph write's
/// transaction: it names the person that observation resolved to, and neither exists without the other. The token's
/// hash, never the token; the session_key already encrypted.
/// </summary>
public sealed record NewSession(string Hash, string AppId, string OpenId, string ProtectedSessionKey, DateTimeOffset ExpiresAt) : ObservationAttachment;

public sealed record OAuthState(string AppId, string Scope, string? ReturnTo);

public sealed record WebhookCursor(long Sequence, int Attempts, DateTimeOffset NextAttemptAt)
{
    /// <summary>Why the last delivery attempt failed, while the webhook is retrying.</summary>
    public string? LastError { get; init; }
}

/// <summary>API keys (hashes only).</summary>
public interface IApiKeyStore
{
    /// <summary>Adds a key; a key already stored stays as it is (idempotent).</summary>
    Task<int> AddApiKeyAsync(string hash, IEnumerable<DataTier> tiers, bool admin, CancellationToken ct);

    /// <summary>Adds a key (idempotent). <paramref name="permission"/> is read, write or admin.</summary>
    Task<int> AddApiKeyAsync(string hash, string? name, IEnumerable<DataTier> tiers, string permission, CancellationToken ct);

    /// <summary>The live (not revoked) key with this hash, or null. Asked on every request and never older than the last commit: a revocation holds at once on every instance.</summary>
    Task<StoredApiKey?> FindApiKeyAsync(string hash, CancellationToken ct);

    /// <summary>The tenant's live keys, oldest first.</summary>
    Task<IReadOnlyList<StoredApiKey>> ListApiKeysAsync(CancellationToken ct);

    /// <summary>Revokes the key with this id; false when there is no live key with it.</summary>
    Task<bool> RevokeApiKeyAsync(string id, CancellationToken ct);

    /// <summary>Records that a key was used (callers throttle this: it is a write).</summary>
    Task<int> TouchApiKeyAsync(string hash, DateTimeOffset at, CancellationToken ct);
}

/// <summary>Nonces of signed WeChat pushes inside the timestamp window, shared by every hub instance on the database.</summary>
public interface ICallbackNonces
{
    /// <summary>
    /// Remembers a push's nonce with a hash of its body and says whether it was seen before, and with which body.
    /// Entries older than <paramref name="forget"/> may be dropped: they can no longer pass the timestamp window.
    /// </summary>
    Task<NonceCheck> CheckNonceAsync(string scope, string nonce, long timestamp, string bodyHash, TimeSpan forget, CancellationToken ct);
}

/// <summary>
/// The hub's login sessions. They are written as attachments of the login's observation (see <see cref="NewSession"/>),
/// so logins arriving together share the graph's commit.
/// </summary>
public interface ILoginSessionStore
{
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

    /// <summary>Open pending_ids whose lifetime ended by <paramref name="now"/>, oldest first: the ones to ask WeCom about again.</summary>
    Task<IReadOnlyList<StoredPendingId>> DuePendingIdsAsync(DateTimeOffset now, int max, CancellationToken ct);

    /// <summary>Moves an open pending_id's expiry (WeCom answered the same one again: look again then).</summary>
    Task<int> RenewPendingIdAsync(string corpNamespace, string pendingId, DateTimeOffset expiresAt, CancellationToken ct);
}

/// <summary>A pending_id the hub holds for a unionid, until it expires or is closed.</summary>
public sealed record StoredPendingId(string CorpNamespace, string PendingId, string UnionId, DateTimeOffset ExpiresAt);

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

public enum InboxState
{
    Pending = 0,
    Done = 1,
    /// <summary>Given up after too many failures; kept with its last error until an operator requeues it.</summary>
    Dead = 2,
}

/// <summary>A claimed push, to be processed by the claimer while its lease lasts. <paramref name="Attempts"/> counts this one.</summary>
public sealed record InboxItem(long Id, string DedupeKey, string Kind, string Target, string Payload, DateTimeOffset ReceivedAt, int Attempts);

/// <summary>A push as an operator sees it (no payload).</summary>
public sealed record InboxEntry(long Id, string DedupeKey, string Kind, string Target, InboxState State, int Attempts,
    DateTimeOffset ReceivedAt, DateTimeOffset? NextAttemptAt, string? LastError, DateTimeOffset? FinishedAt);

/// <param name="Pending">Pushes not yet processed (including those waiting for a retry).</param>
/// <param name="Dead">Pushes given up on.</param>
/// <param name="OldestPending">When the oldest pending push arrived, or null.</param>
public sealed record InboxStats(long Pending, long Dead, DateTimeOffset? OldestPending);

/// <summary>
/// The durable inbox of WeChat pushes. Adding a push and taking its dedupe key are one statement (the key is unique),
/// so a push is either stored once or recognized as a retry. Items are claimed with a lease: no two hub instances
/// process one item at once, and an item whose claimer died is claimed again once the lease lapses.
/// </summary>
public interface IPushInbox
{
    /// <summary>Stores a push; false when its key was seen before (WeChat's retry of a push already stored).</summary>
    Task<bool> AddAsync(string dedupeKey, string kind, string target, string payload, CancellationToken ct);

    /// <summary>Claims up to <paramref name="max"/> due pending items for <paramref name="owner"/> until now + <paramref name="lease"/>, oldest first.</summary>
    Task<IReadOnlyList<InboxItem>> ClaimAsync(string owner, TimeSpan lease, int max, CancellationToken ct);

    /// <summary>Marks a claimed item done (its payload is dropped). False when the claim was lost to another instance.</summary>
    Task<bool> CompleteAsync(long id, string owner, CancellationToken ct);

    /// <summary>Releases a claimed item for another attempt at <paramref name="nextAttemptAt"/>, keeping the error.</summary>
    Task<bool> RetryLaterAsync(long id, string owner, DateTimeOffset nextAttemptAt, string error, CancellationToken ct);

    /// <summary>Gives up on a claimed item: it stays, dead, with its last error (and payload, so it can be requeued).</summary>
    Task<bool> DeadAsync(long id, string owner, string error, CancellationToken ct);

    /// <summary>Puts a dead item back in the queue, due now, with a fresh attempt count. False when it is not dead.</summary>
    Task<bool> RequeueAsync(long id, CancellationToken ct);

    Task<InboxStats> StatsAsync(CancellationToken ct);

    /// <summary>The newest items (of <paramref name="state"/> when given), newest first.</summary>
    Task<IReadOnlyList<InboxEntry>> ListAsync(InboxState? state, int max, CancellationToken ct);

    /// <summary>Forgets done items finished before <paramref name="before"/> (their keys no longer dedupe: WeChat's retries stop within a minute).</summary>
    Task<int> PurgeDoneAsync(DateTimeOffset before, CancellationToken ct);
}
