using System.Data.Common;
using Dapper;
using OneId.Graph;
using OneId.Storage.Graph;

namespace OneId.Storage.Hub;

/// <summary>The hub's rows in one tenant's database (SQLite or PostgreSQL). Only hashes of keys and tokens are stored, never the values.</summary>
public sealed class SqlHubStore : IAttachmentWriter, IApiKeyStore, ILoginSessionStore, IOAuthStateStore, ICallbackDedupe, IWebhookCursorStore, IPendingIdStore, ICheckpointStore, IComponentStateStore, IPushInbox, IJobStore, ICallbackNonces
{
    private readonly StoreDatabase _db;
    private readonly TimeProvider _time;

    private SqlHubStore(StoreDatabase db, TimeProvider time)
    {
        _db = db;
        _time = time;
    }

    public static async Task<SqlHubStore> OpenAsync(StoreDatabase db, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        await db.MigrateAsync(HubSchema.Migrations, cancellationToken).ConfigureAwait(false);
        return new SqlHubStore(db, time);
    }

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken ct)
    {
        await using var connection = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await work(connection).ConfigureAwait(false);
    }

    // Single statements are atomic on their own. On SQLite they still queue at the database's in-process write gate:
    // a writer that meets the file lock outside it waits in SQLite's busy handler, which sleeps in whole milliseconds.
    // PostgreSQL needs no queue (and must not wait behind the tenant's graph lock).
    private async Task<int> ExecuteAsync(string sql, object args, CancellationToken ct)
    {
        if (_db.Kind == StoreKind.Sqlite)
        {
            return await _db.WriteAsync((connection, tx) =>
                connection.ExecuteAsync(new CommandDefinition(sql, args, tx, cancellationToken: ct)), ct).ConfigureAwait(false);
        }
        await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await c.ExecuteAsync(new CommandDefinition(sql, args, cancellationToken: ct)).ConfigureAwait(false);
    }

    // ---- API keys ----

    public Task<int> AddApiKeyAsync(string hash, IEnumerable<DataTier> tiers, bool admin, CancellationToken ct) =>
        AddApiKeyAsync(hash, null, tiers, admin ? "admin" : "read", ct);

    /// <summary>Adds a key (idempotent: a key already stored stays as it is). <paramref name="permission"/> is read, write or admin.</summary>
    public Task<int> AddApiKeyAsync(string hash, string? name, IEnumerable<DataTier> tiers, string permission, CancellationToken ct) =>
        ExecuteKeyWriteAsync("""
            INSERT INTO hub_api_keys(hash, id, name, tiers, admin, permission, created_at) VALUES (@hash, @id, @name, @tiers, @admin, @permission, @at)
            ON CONFLICT (hash) DO NOTHING
            """,
            new { hash, id = hash[..12], name, tiers = string.Join(',', tiers.Distinct().Order().Select(t => (int)t)), admin = permission == "admin" ? 1 : 0, permission, at = Now }, ct);

    private const string KeyColumns = "id AS Id, name AS Name, tiers AS Tiers, admin AS Admin, permission AS Permission, created_at AS CreatedAt, last_used_at AS LastUsedAt";

    /// <summary>
    /// The live (not revoked) key with this hash, or null. Every request asks: a live key is answered from memory only
    /// while the keys' change token is unchanged since it was read, else read again. SQLite: <c>data_version</c>,
    /// which moves on any commit of any process. PostgreSQL: the keys' LISTEN generation, which moves when a key write
    /// of any instance is heard (or one of this process returns); while that connection is down every lookup reads.
    /// So a revocation holds on the next request everywhere once it is heard. Unknown keys are never remembered.
    /// </summary>
    public async Task<StoredApiKey?> FindApiKeyAsync(string hash, CancellationToken ct)
    {
        var token = _db.ChangeToken(ChangeScope.ApiKeys);
        if (token is { } t && _liveKeys.TryGetValue(hash, out var hit) && hit.Token == t)
        {
            return hit.Key;
        }
        Interlocked.Increment(ref _keyReads);
        var key = await ReadAsync(async c =>
        {
            var r = await c.QueryFirstOrDefaultAsync<KeyRow>(
                new CommandDefinition($"SELECT {KeyColumns} FROM hub_api_keys WHERE hash = @hash AND revoked = 0", new { hash }, cancellationToken: ct)).ConfigureAwait(false);
            return r?.ToStored();
        }, ct).ConfigureAwait(false);
        if (key is null)
        {
            _liveKeys.TryRemove(hash, out _);
        }
        else if (token is { } read)
        {
            _liveKeys[hash] = (read, key);
        }
        return key;
    }

    private long _keyReads;

    /// <summary>How many key lookups went to the database (the rest were answered from memory).</summary>
    public long KeyReads => Interlocked.Read(ref _keyReads);

    /// <summary>
    /// A change to hub_api_keys. On PostgreSQL it notifies the keys' channel in its transaction (delivered when it
    /// commits), so every instance's key cache hears it, and moves this process's signal as soon as it returns.
    /// </summary>
    private async Task<int> ExecuteKeyWriteAsync(string sql, object args, CancellationToken ct)
    {
        if (_db is not PostgresDatabase pg)
        {
            return await ExecuteAsync(sql, args, ct).ConfigureAwait(false);
        }
        int changed;
        await using (var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false))
        await using (var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false))
        {
            changed = await c.ExecuteAsync(new CommandDefinition(sql, args, tx, cancellationToken: ct)).ConfigureAwait(false);
            await c.ExecuteAsync(new CommandDefinition("SELECT pg_notify('oneid_keys_' || current_schema(), '')", transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
        pg.Changes.KeysChanged();
        return changed;
    }

    // Only keys found live are kept, so this holds at most the tenant's live keys (a handful), whatever callers send.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Token, StoredApiKey Key)> _liveKeys = new(StringComparer.Ordinal);

    /// <summary>The tenant's live keys, oldest first.</summary>
    public Task<IReadOnlyList<StoredApiKey>> ListApiKeysAsync(CancellationToken ct) => ReadAsync<IReadOnlyList<StoredApiKey>>(async c =>
        (await c.QueryAsync<KeyRow>(new CommandDefinition($"SELECT {KeyColumns} FROM hub_api_keys WHERE revoked = 0 ORDER BY created_at, id", cancellationToken: ct)).ConfigureAwait(false))
            .Select(r => r.ToStored()).ToArray(), ct);

    /// <summary>Revokes the key with this id; false when there is no live key with it.</summary>
    public async Task<bool> RevokeApiKeyAsync(string id, CancellationToken ct) =>
        await ExecuteKeyWriteAsync("UPDATE hub_api_keys SET revoked = 1 WHERE id = @id AND revoked = 0", new { id }, ct).ConfigureAwait(false) == 1;

    /// <summary>Records that a key was used (callers throttle this: it is a write).</summary>
    public Task<int> TouchApiKeyAsync(string hash, DateTimeOffset at, CancellationToken ct) =>
        ExecuteAsync("UPDATE hub_api_keys SET last_used_at = @at WHERE hash = @hash", new { hash, at = at.ToUnixTimeMilliseconds() }, ct);

    // ---- push nonces (replays inside the timestamp window) ----

    /// <summary>
    /// Remembers a signed push's nonce with a hash of its body, and says whether it was seen before and with which body.
    /// Entries older than <paramref name="forget"/> are dropped as they can no longer pass the timestamp window.
    /// </summary>
    public async Task<NonceCheck> CheckNonceAsync(string scope, string nonce, long timestamp, string bodyHash, TimeSpan forget, CancellationToken ct)
    {
        var now = Now;
        if (await ExecuteAsync("""
            INSERT INTO hub_callback_nonces(scope, nonce, timestamp, body_hash, seen_at) VALUES (@scope, @nonce, @timestamp, @bodyHash, @now)
            ON CONFLICT (scope, nonce, timestamp) DO NOTHING
            """, new { scope, nonce, timestamp, bodyHash, now }, ct).ConfigureAwait(false) == 1)
        {
            if (Random.Shared.Next(100) == 0)
            {
                await ExecuteAsync("DELETE FROM hub_callback_nonces WHERE seen_at < @before", new { before = now - (long)forget.TotalMilliseconds }, ct).ConfigureAwait(false);
            }
            return NonceCheck.New;
        }
        var seen = await ReadAsync(c => c.QueryFirstOrDefaultAsync<string>(new CommandDefinition(
            "SELECT body_hash FROM hub_callback_nonces WHERE scope = @scope AND nonce = @nonce AND timestamp = @timestamp",
            new { scope, nonce, timestamp }, cancellationToken: ct)), ct).ConfigureAwait(false);
        return seen == bodyHash ? NonceCheck.SameBody : NonceCheck.OtherBody;
    }

    // ---- MP login sessions ----

    /// <summary>
    /// Writes the sessions of a graph batch in its transaction, each naming the person its login's observation resolved
    /// to (none when it was rejected as a conflict): one multi-row statement for the logins that share the commit.
    /// </summary>
    Task IAttachmentWriter.WriteAsync(AttachmentTransaction transaction, IReadOnlyList<(ObservationAttachment Attachment, ObserveResult Result)> items, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(items);
        var at = Now;
        var rows = new object?[items.Count][];
        for (var i = 0; i < items.Count; i++)
        {
            var x = (NewSession)items[i].Attachment;
            rows[i] = [x.Hash, x.AppId, x.OpenId, items[i].Result.Person?.Value, x.ProtectedSessionKey, at, x.ExpiresAt.ToUnixTimeMilliseconds()];
        }
        return transaction.InsertAsync("hub_sessions", ["hash", "appid", "openid", "person_id", "session_key", "created_at", "expires_at"], "tttbtbb", rows, ct);
    }

    bool IAttachmentWriter.Writes(ObservationAttachment attachment) => attachment is NewSession;

    public Task<StoredSession?> FindSessionAsync(string hash, CancellationToken ct) => ReadAsync(async c =>
    {
        var r = await c.QueryFirstOrDefaultAsync<SessionRow>(
            new CommandDefinition("SELECT appid AS AppId, openid AS OpenId, person_id AS Person, session_key AS \"Key\", expires_at AS Exp FROM hub_sessions WHERE hash = @hash AND revoked = 0 AND expires_at > @now",
                new { hash, now = Now }, cancellationToken: ct)).ConfigureAwait(false);
        return r is not null
            ? new StoredSession(r.AppId, r.OpenId, r.Person is { } p ? new PersonId(p) : null, r.Key, DateTimeOffset.FromUnixTimeMilliseconds(r.Exp))
            : null;
    }, ct);

    public Task<int> RevokeSessionAsync(string hash, CancellationToken ct) =>
        ExecuteAsync("UPDATE hub_sessions SET revoked = 1 WHERE hash = @hash AND revoked = 0", new { hash }, ct);

    // ---- OAuth CSRF states ----

    public Task<int> AddOAuthStateAsync(string state, string appId, string scope, string? returnTo, DateTimeOffset expiresAt, CancellationToken ct) =>
        ExecuteAsync("INSERT INTO hub_oauth_states(state, appid, scope, return_to, expires_at) VALUES (@state, @appId, @scope, @returnTo, @exp)",
            new { state, appId, scope, returnTo, exp = expiresAt.ToUnixTimeMilliseconds() }, ct);

    /// <summary>Takes a state once: a replayed or expired state gives null.</summary>
    public async Task<OAuthState?> TakeOAuthStateAsync(string state, string appId, CancellationToken ct)
    {
        var taken = await ExecuteAsync("UPDATE hub_oauth_states SET used = 1 WHERE state = @state AND appid = @appId AND used = 0 AND expires_at > @now",
            new { state, appId, now = Now }, ct).ConfigureAwait(false);
        if (taken != 1)
        {
            return null;
        }
        return await ReadAsync(async c =>
        {
            var row = await c.QueryFirstAsync<StateRow>(
                new CommandDefinition("SELECT scope AS Scope, return_to AS ReturnTo FROM hub_oauth_states WHERE state = @state", new { state }, cancellationToken: ct)).ConfigureAwait(false);
            return new OAuthState(appId, row.Scope, row.ReturnTo);
        }, ct).ConfigureAwait(false);
    }

    // ---- callback dedupe ----

    /// <summary>Records a callback key; false when it was seen before (a WeChat retry).</summary>
    public async Task<bool> FirstSeenAsync(string key, CancellationToken ct) =>
        await ExecuteAsync("INSERT INTO hub_callbacks_seen(key, at) VALUES (@key, @at) ON CONFLICT (key) DO NOTHING", new { key, at = Now }, ct).ConfigureAwait(false) == 1;

    /// <summary>Forgets a key whose processing failed, so that WeChat's retry is processed again.</summary>
    public Task<int> ForgetSeenAsync(string key, CancellationToken ct) =>
        ExecuteAsync("DELETE FROM hub_callbacks_seen WHERE key = @key", new { key }, ct);

    // ---- webhook cursors ----

    public Task<WebhookCursor> GetWebhookCursorAsync(string webhook, CancellationToken ct) => ReadAsync(async c =>
    {
        var r = await c.QueryFirstOrDefaultAsync<CursorRow>(
            new CommandDefinition("SELECT seq AS Seq, attempts AS Attempts, next_attempt_at AS Next, last_error AS Error FROM hub_webhook_cursors WHERE webhook = @webhook", new { webhook }, cancellationToken: ct)).ConfigureAwait(false);
        return r is not null ? new WebhookCursor(r.Seq, (int)r.Attempts, DateTimeOffset.FromUnixTimeMilliseconds(r.Next)) { LastError = r.Error } : new WebhookCursor(0, 0, DateTimeOffset.MinValue);
    }, ct);

    /// <summary>Takes (or renews) the right to deliver <paramref name="webhook"/> until <paramref name="until"/>; false while another instance holds it.</summary>
    public async Task<bool> TryLeaseWebhookAsync(string webhook, string owner, DateTimeOffset until, CancellationToken ct)
    {
        await ExecuteAsync("INSERT INTO hub_webhook_cursors(webhook, seq) VALUES (@webhook, 0) ON CONFLICT (webhook) DO NOTHING", new { webhook }, ct).ConfigureAwait(false);
        return await ExecuteAsync("""
            UPDATE hub_webhook_cursors SET lease_owner = @owner, lease_until = @until
            WHERE webhook = @webhook AND (lease_owner IS NULL OR lease_owner = @owner OR lease_until < @now)
            """, new { webhook, owner, until = until.ToUnixTimeMilliseconds(), now = Now }, ct).ConfigureAwait(false) == 1;
    }

    /// <summary>Gives up every webhook lease of <paramref name="owner"/> (on shutdown, so that the next instance starts at once).</summary>
    public Task<int> ReleaseWebhookLeasesAsync(string owner, CancellationToken ct) =>
        ExecuteAsync("UPDATE hub_webhook_cursors SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = @owner", new { owner }, ct);

    public Task<int> SaveWebhookCursorAsync(string webhook, long seq, int attempts, DateTimeOffset nextAttemptAt, string? lastError, CancellationToken ct) =>
        ExecuteAsync("""
            INSERT INTO hub_webhook_cursors(webhook, seq, attempts, next_attempt_at, last_error) VALUES (@webhook, @seq, @attempts, @next, @error)
            ON CONFLICT (webhook) DO UPDATE SET seq = excluded.seq, attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error
            """,
            new { webhook, seq, attempts, next = nextAttemptAt == DateTimeOffset.MinValue ? 0 : nextAttemptAt.ToUnixTimeMilliseconds(), error = lastError }, ct);

    // ---- WeCom pending_ids ----

    public Task<int> AddPendingIdAsync(string corpNamespace, string pendingId, string unionId, PersonId? person, DateTimeOffset expiresAt, CancellationToken ct) =>
        ExecuteAsync("""
            INSERT INTO hub_pending_ids(corp_ns, pending_id, unionid, person_id, created_at, expires_at) VALUES (@corpNamespace, @pendingId, @unionId, @person, @at, @exp)
            ON CONFLICT (corp_ns, pending_id) DO NOTHING
            """,
            new { corpNamespace, pendingId, unionId, person = person?.Value, at = Now, exp = expiresAt.ToUnixTimeMilliseconds() }, ct);

    public Task<int> ClosePendingIdAsync(string corpNamespace, string pendingId, CancellationToken ct) =>
        ExecuteAsync("UPDATE hub_pending_ids SET closed_at = @now WHERE corp_ns = @corpNamespace AND pending_id = @pendingId", new { corpNamespace, pendingId, now = Now }, ct);

    public Task<IReadOnlyList<StoredPendingId>> DuePendingIdsAsync(DateTimeOffset now, int max, CancellationToken ct) => ReadAsync<IReadOnlyList<StoredPendingId>>(async c =>
        (await c.QueryAsync<PendingRow>(new CommandDefinition("""
            SELECT corp_ns AS Ns, pending_id AS PendingId, unionid AS UnionId, expires_at AS ExpiresAt FROM hub_pending_ids
            WHERE closed_at IS NULL AND expires_at <= @now ORDER BY expires_at LIMIT @max
            """, new { now = now.ToUnixTimeMilliseconds(), max }, cancellationToken: ct)).ConfigureAwait(false))
            .Select(r => new StoredPendingId(r.Ns, r.PendingId, r.UnionId, DateTimeOffset.FromUnixTimeMilliseconds(r.ExpiresAt))).ToArray(), ct);

    public Task<int> RenewPendingIdAsync(string corpNamespace, string pendingId, DateTimeOffset expiresAt, CancellationToken ct) =>
        ExecuteAsync("UPDATE hub_pending_ids SET expires_at = @exp WHERE corp_ns = @corpNamespace AND pending_id = @pendingId",
            new { corpNamespace, pendingId, exp = expiresAt.ToUnixTimeMilliseconds() }, ct);

    private sealed class PendingRow { public string Ns { get; set; } = ""; public string PendingId { get; set; } = ""; public string UnionId { get; set; } = ""; public long ExpiresAt { get; set; } }

    // ---- checkpoints (backfills resume where they stopped) ----

    public Task<string?> GetCheckpointAsync(string name, CancellationToken ct) => ReadAsync(c =>
        c.QueryFirstOrDefaultAsync<string?>(new CommandDefinition("SELECT value FROM hub_checkpoints WHERE name = @name", new { name }, cancellationToken: ct)), ct);

    public Task<int> SaveCheckpointAsync(string name, string value, CancellationToken ct) =>
        ExecuteAsync("""
            INSERT INTO hub_checkpoints(name, value, at) VALUES (@name, @value, @at)
            ON CONFLICT (name) DO UPDATE SET value = excluded.value, at = excluded.at
            """, new { name, value, at = Now }, ct);

    public Task<int> DeleteCheckpointAsync(string name, CancellationToken ct) =>
        ExecuteAsync("DELETE FROM hub_checkpoints WHERE name = @name", new { name }, ct);

    // ---- third-party platform ----

    public Task<int> SetComponentStateAsync(string componentAppId, string name, string value, CancellationToken ct) =>
        ExecuteAsync("""
            INSERT INTO hub_component_state(component_appid, name, value, at) VALUES (@componentAppId, @name, @value, @at)
            ON CONFLICT (component_appid, name) DO UPDATE SET value = excluded.value, at = excluded.at
            """, new { componentAppId, name, value, at = Now }, ct);

    // ---- the durable inbox ----

    public async Task<bool> AddAsync(string dedupeKey, string kind, string target, string payload, CancellationToken ct) =>
        await ExecuteAsync("""
            INSERT INTO hub_inbox(dedupe_key, kind, target, payload, received_at, next_attempt_at) VALUES (@dedupeKey, @kind, @target, @payload, @now, @now)
            ON CONFLICT (dedupe_key) DO NOTHING
            """, new { dedupeKey, kind, target, payload, now = Now }, ct).ConfigureAwait(false) == 1;

    public async Task<IReadOnlyList<InboxItem>> ClaimAsync(string owner, TimeSpan lease, int max, CancellationToken ct)
    {
        // PostgreSQL: SKIP LOCKED lets instances claim side by side without waiting for each other's rows; the lease
        // columns keep a claim after the statement commits. SQLite has one writer at a time anyway.
        var skipLocked = _db.Kind == StoreKind.Postgres ? "FOR UPDATE SKIP LOCKED" : "";
        var sql = $"""
            UPDATE hub_inbox SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1
            WHERE id IN (SELECT id FROM hub_inbox WHERE state = 0 AND next_attempt_at <= @now AND lease_until < @now ORDER BY id LIMIT @max {skipLocked})
            RETURNING id AS Id, dedupe_key AS DedupeKey, kind AS Kind, target AS Target, payload AS Payload, received_at AS ReceivedAt, attempts AS Attempts
            """;
        var args = new { owner, until = Now + (long)lease.TotalMilliseconds, now = Now, max };
        IEnumerable<InboxRow> rows;
        if (_db.Kind == StoreKind.Sqlite)
        {
            rows = await _db.WriteAsync((connection, tx) => connection.QueryAsync<InboxRow>(new CommandDefinition(sql, args, tx, cancellationToken: ct)), ct).ConfigureAwait(false);
        }
        else
        {
            await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
            rows = await c.QueryAsync<InboxRow>(new CommandDefinition(sql, args, cancellationToken: ct)).ConfigureAwait(false);
        }
        return rows.OrderBy(r => r.Id)
            .Select(r => new InboxItem(r.Id, r.DedupeKey, r.Kind, r.Target, r.Payload ?? "", DateTimeOffset.FromUnixTimeMilliseconds(r.ReceivedAt), (int)r.Attempts))
            .ToArray();
    }

    public async Task<bool> CompleteAsync(long id, string owner, CancellationToken ct) =>
        await ExecuteAsync("""
            UPDATE hub_inbox SET state = 1, payload = NULL, lease_owner = NULL, lease_until = 0, last_error = NULL, finished_at = @now
            WHERE id = @id AND lease_owner = @owner AND state = 0
            """, new { id, owner, now = Now }, ct).ConfigureAwait(false) == 1;

    public async Task<bool> RetryLaterAsync(long id, string owner, DateTimeOffset nextAttemptAt, string error, CancellationToken ct) =>
        await ExecuteAsync("""
            UPDATE hub_inbox SET lease_owner = NULL, lease_until = 0, next_attempt_at = @next, last_error = @error
            WHERE id = @id AND lease_owner = @owner AND state = 0
            """, new { id, owner, next = nextAttemptAt.ToUnixTimeMilliseconds(), error }, ct).ConfigureAwait(false) == 1;

    public async Task<bool> DeadAsync(long id, string owner, string error, CancellationToken ct) =>
        await ExecuteAsync("""
            UPDATE hub_inbox SET state = 2, lease_owner = NULL, lease_until = 0, last_error = @error, finished_at = @now
            WHERE id = @id AND lease_owner = @owner AND state = 0
            """, new { id, owner, error, now = Now }, ct).ConfigureAwait(false) == 1;

    public async Task<bool> RequeueAsync(long id, CancellationToken ct) =>
        await ExecuteAsync("""
            UPDATE hub_inbox SET state = 0, attempts = 0, next_attempt_at = @now, finished_at = NULL WHERE id = @id AND state = 2
            """, new { id, now = Now }, ct).ConfigureAwait(false) == 1;

    public Task<InboxStats> StatsAsync(CancellationToken ct) => ReadAsync(async c =>
    {
        var r = await c.QueryFirstAsync<StatsRow>(new CommandDefinition("""
            SELECT CAST(COALESCE(SUM(CASE WHEN state = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS Pending,
                   CAST(COALESCE(SUM(CASE WHEN state = 2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS Dead,
                   MIN(CASE WHEN state = 0 THEN received_at END) AS Oldest
            FROM hub_inbox WHERE state <> 1
            """, cancellationToken: ct)).ConfigureAwait(false);
        return new InboxStats(r.Pending, r.Dead, r.Oldest is { } o ? DateTimeOffset.FromUnixTimeMilliseconds(o) : null);
    }, ct);

    public Task<IReadOnlyList<InboxEntry>> ListAsync(InboxState? state, int max, CancellationToken ct) => ReadAsync<IReadOnlyList<InboxEntry>>(async c =>
    {
        var where = state is null ? "" : "WHERE state = @state";
        var rows = await c.QueryAsync<EntryRow>(new CommandDefinition($"""
            SELECT id AS Id, dedupe_key AS DedupeKey, kind AS Kind, target AS Target, state AS State, attempts AS Attempts, received_at AS ReceivedAt,
                   next_attempt_at AS NextAttemptAt, last_error AS LastError, finished_at AS FinishedAt
            FROM hub_inbox {where} ORDER BY id DESC LIMIT @max
            """, new { state = (int?)state, max }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => new InboxEntry(r.Id, r.DedupeKey, r.Kind, r.Target, (InboxState)r.State, (int)r.Attempts,
            DateTimeOffset.FromUnixTimeMilliseconds(r.ReceivedAt), r.State == 0 ? DateTimeOffset.FromUnixTimeMilliseconds(r.NextAttemptAt) : null,
            r.LastError, r.FinishedAt is { } f ? DateTimeOffset.FromUnixTimeMilliseconds(f) : null)).ToArray();
    }, ct);

    public Task<int> PurgeDoneAsync(DateTimeOffset before, CancellationToken ct) =>
        ExecuteAsync("DELETE FROM hub_inbox WHERE state = 1 AND finished_at < @before", new { before = before.ToUnixTimeMilliseconds() }, ct);

    private sealed class InboxRow { public long Id { get; set; } public string DedupeKey { get; set; } = ""; public string Kind { get; set; } = ""; public string Target { get; set; } = ""; public string? Payload { get; set; } public long ReceivedAt { get; set; } public long Attempts { get; set; } }

    private sealed class EntryRow { public long Id { get; set; } public string DedupeKey { get; set; } = ""; public string Kind { get; set; } = ""; public string Target { get; set; } = ""; public long State { get; set; } public long Attempts { get; set; } public long ReceivedAt { get; set; } public long NextAttemptAt { get; set; } public string? LastError { get; set; } public long? FinishedAt { get; set; } public string? Parameter { get; set; } }

    private sealed class StatsRow { public long Pending { get; set; } public long Dead { get; set; } public long? Oldest { get; set; } }

    // ---- durable jobs ----

    private const string JobColumns = "id AS Id, kind AS Kind, appid AS AppId, state AS State, progress AS Progress, error AS Error, created_at AS CreatedAt, started_at AS StartedAt, finished_at AS FinishedAt, parameter AS Parameter";

    private static StoredJob ToJob(JobRow r) => new(r.Id, r.Kind, r.AppId, Enum.Parse<JobState>(r.State, ignoreCase: true), r.Progress, r.Error,
        DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt), r.StartedAt is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null,
        r.FinishedAt is { } f ? DateTimeOffset.FromUnixTimeMilliseconds(f) : null) { Parameter = r.Parameter };

    public Task<StoredJob?> CreateJobAsync(string kind, string appId, CancellationToken ct) => CreateJobAsync(kind, appId, null, ct);

    public Task<StoredJob?> CreateJobAsync(string kind, string appId, string? parameter, CancellationToken ct) =>
        // Under the tenant's write lock, so that two requests cannot both find no active job and both insert one.
        _db.WriteAsync(async (connection, tx) =>
        {
            var active = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM hub_jobs WHERE appid = @appId AND state IN ('queued', 'running')", new { appId }, tx, cancellationToken: ct)).ConfigureAwait(false);
            if (active > 0)
            {
                return null;
            }
            var row = await connection.QuerySingleAsync<JobRow>(new CommandDefinition($"""
                INSERT INTO hub_jobs(kind, appid, state, progress, created_at, parameter) VALUES (@kind, @appId, 'queued', @progress, @now, @parameter)
                RETURNING {JobColumns}
                """, new { kind, appId, progress = "{}", now = Now, parameter }, tx, cancellationToken: ct)).ConfigureAwait(false);
            return (StoredJob?)ToJob(row);
        }, ct);

    public Task<StoredJob?> GetJobAsync(long id, CancellationToken ct) => ReadAsync(async c =>
    {
        var r = await c.QueryFirstOrDefaultAsync<JobRow>(new CommandDefinition($"SELECT {JobColumns} FROM hub_jobs WHERE id = @id", new { id }, cancellationToken: ct)).ConfigureAwait(false);
        return r is null ? null : ToJob(r);
    }, ct);

    public Task<IReadOnlyList<StoredJob>> ListJobsAsync(int max, CancellationToken ct) => ReadAsync<IReadOnlyList<StoredJob>>(async c =>
        (await c.QueryAsync<JobRow>(new CommandDefinition($"SELECT {JobColumns} FROM hub_jobs ORDER BY id DESC LIMIT @max", new { max }, cancellationToken: ct)).ConfigureAwait(false))
            .Select(ToJob).ToArray(), ct);

    public async Task<StoredJob?> ClaimJobAsync(string owner, TimeSpan lease, CancellationToken ct)
    {
        var skipLocked = _db.Kind == StoreKind.Postgres ? "FOR UPDATE SKIP LOCKED" : "";
        var sql = $"""
            UPDATE hub_jobs SET state = 'running', lease_owner = @owner, lease_until = @until, started_at = COALESCE(started_at, @now)
            WHERE id = (SELECT id FROM hub_jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < @now) ORDER BY id LIMIT 1 {skipLocked})
            RETURNING {JobColumns}
            """;
        var args = new { owner, until = Now + (long)lease.TotalMilliseconds, now = Now };
        JobRow? row;
        if (_db.Kind == StoreKind.Sqlite)
        {
            row = await _db.WriteAsync((connection, tx) => connection.QueryFirstOrDefaultAsync<JobRow>(new CommandDefinition(sql, args, tx, cancellationToken: ct)), ct).ConfigureAwait(false);
        }
        else
        {
            await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
            row = await c.QueryFirstOrDefaultAsync<JobRow>(new CommandDefinition(sql, args, cancellationToken: ct)).ConfigureAwait(false);
        }
        return row is null ? null : ToJob(row);
    }

    public async Task<bool> ReportJobAsync(long id, string owner, string progress, TimeSpan lease, CancellationToken ct) =>
        await ExecuteAsync("UPDATE hub_jobs SET progress = @progress, lease_until = @until WHERE id = @id AND lease_owner = @owner AND state = 'running'",
            new { id, owner, progress, until = Now + (long)lease.TotalMilliseconds }, ct).ConfigureAwait(false) == 1;

    public async Task<bool> FinishJobAsync(long id, string owner, JobState state, string progress, string? error, CancellationToken ct) =>
        await ExecuteAsync("""
            UPDATE hub_jobs SET state = @state, progress = @progress, error = @error, finished_at = @now, lease_owner = NULL, lease_until = 0
            WHERE id = @id AND lease_owner = @owner AND state = 'running'
            """, new { id, owner, state = state.ToString().ToLowerInvariant(), progress, error, now = Now }, ct).ConfigureAwait(false) == 1;

    public async Task<bool> ReleaseJobAsync(long id, string owner, CancellationToken ct) =>
        await ExecuteAsync("UPDATE hub_jobs SET state = 'queued', lease_owner = NULL, lease_until = 0 WHERE id = @id AND lease_owner = @owner AND state = 'running'",
            new { id, owner }, ct).ConfigureAwait(false) == 1;

    private sealed class JobRow { public long Id { get; set; } public string Kind { get; set; } = ""; public string AppId { get; set; } = ""; public string State { get; set; } = ""; public string Progress { get; set; } = "{}"; public string? Error { get; set; } public long CreatedAt { get; set; } public long? StartedAt { get; set; } public long? FinishedAt { get; set; } public string? Parameter { get; set; } }

    private sealed class KeyRow
    {
        public string Id { get; set; } = "";
        public string? Name { get; set; }
        public string Tiers { get; set; } = "";
        public long Admin { get; set; }
        public string? Permission { get; set; }
        public long CreatedAt { get; set; }
        public long? LastUsedAt { get; set; }

        public StoredApiKey ToStored() =>
            new(Tiers.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => (DataTier)int.Parse(t, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet(), Admin != 0)
            {
                Id = Id,
                Name = Name,
                Permission = Permission ?? (Admin != 0 ? "admin" : "read"),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt),
                LastUsedAt = LastUsedAt is { } used ? DateTimeOffset.FromUnixTimeMilliseconds(used) : null,
            };
    }

    private sealed class SessionRow { public string AppId { get; set; } = ""; public string OpenId { get; set; } = ""; public long? Person { get; set; } public string Key { get; set; } = ""; public long Exp { get; set; } }

    private sealed class StateRow { public string Scope { get; set; } = ""; public string? ReturnTo { get; set; } }

    private sealed class CursorRow { public long Seq { get; set; } public long Attempts { get; set; } public long Next { get; set; } public string? Error { get; set; } }
}
