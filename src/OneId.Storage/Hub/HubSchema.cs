

namespace OneId.Storage.Hub;

/// <summary>
/// The hub's own tables, beside the graph's in each tenant's database: API keys, login sessions, OAuth states,
/// callback dedupe, webhook cursors and WeCom pending_ids. Written once for both dialects where the SQL agrees.
/// </summary>
public static class HubSchema
{
    private const string Init = """
        CREATE TABLE hub_api_keys (
            hash TEXT NOT NULL PRIMARY KEY,
            tiers TEXT NOT NULL,
            admin INTEGER NOT NULL,
            created_at BIGINT NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE hub_sessions (
            hash TEXT NOT NULL PRIMARY KEY,
            appid TEXT NOT NULL,
            openid TEXT NOT NULL,
            person_id BIGINT NULL,
            session_key TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX ix_hub_sessions_openid ON hub_sessions(appid, openid);
        CREATE TABLE hub_oauth_states (
            state TEXT NOT NULL PRIMARY KEY,
            appid TEXT NOT NULL,
            scope TEXT NOT NULL,
            return_to TEXT NULL,
            expires_at BIGINT NOT NULL,
            used INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE hub_callbacks_seen (
            key TEXT NOT NULL PRIMARY KEY,
            at BIGINT NOT NULL);
        CREATE TABLE hub_webhook_cursors (
            webhook TEXT NOT NULL PRIMARY KEY,
            seq BIGINT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL DEFAULT 0,
            last_error TEXT NULL);
        CREATE TABLE hub_pending_ids (
            corp_ns TEXT NOT NULL,
            pending_id TEXT NOT NULL,
            unionid TEXT NOT NULL,
            person_id BIGINT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            closed_at BIGINT NULL,
            PRIMARY KEY (corp_ns, pending_id));
        CREATE TABLE hub_component_state (
            component_appid TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            at BIGINT NOT NULL,
            PRIMARY KEY (component_appid, name));
        """;

    private const string Checkpoints = """
        CREATE TABLE hub_checkpoints (
            name TEXT NOT NULL PRIMARY KEY,
            value TEXT NOT NULL,
            at BIGINT NOT NULL);
        """;

    // Several hub instances share one database; one of them at a time delivers each webhook, or deliveries could
    // overtake each other.
    private const string WebhookLeases = """
        ALTER TABLE hub_webhook_cursors ADD COLUMN lease_owner TEXT NULL;
        ALTER TABLE hub_webhook_cursors ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
        """;

    // The key model: an id to name and revoke a key by (the first 12 hex digits of its hash, never the key), a name,
    // a permission (read, write, admin) and when it was last used.
    private const string ApiKeyModel = """
        ALTER TABLE hub_api_keys ADD COLUMN id TEXT NULL;
        ALTER TABLE hub_api_keys ADD COLUMN name TEXT NULL;
        ALTER TABLE hub_api_keys ADD COLUMN permission TEXT NULL;
        ALTER TABLE hub_api_keys ADD COLUMN last_used_at BIGINT NULL;
        UPDATE hub_api_keys SET id = substr(hash, 1, 12), permission = CASE WHEN admin <> 0 THEN 'admin' ELSE 'read' END;
        CREATE UNIQUE INDEX ux_hub_api_keys_id ON hub_api_keys(id);
        """;

    // Nonces of signed pushes inside the timestamp window, with a hash of the body they came with: the same nonce with
    // another body is a replay of a captured signature (plain mode's signature does not cover the body).
    private const string CallbackNonces = """
        CREATE TABLE hub_callback_nonces (
            scope TEXT NOT NULL,
            nonce TEXT NOT NULL,
            timestamp BIGINT NOT NULL,
            body_hash TEXT NOT NULL,
            seen_at BIGINT NOT NULL,
            PRIMARY KEY (scope, nonce, timestamp));
        CREATE INDEX ix_hub_callback_nonces_seen_at ON hub_callback_nonces(seen_at);
        """;

    // The durable inbox: every verified push, stored in the transaction that takes its dedupe key (the unique key
    // itself), so that WeChat can be answered at once and nothing is lost if processing is slow, fails or the hub dies.
    // state: 0 pending, 1 done, 2 dead (gave up; kept with its last error). A claim is a lease: lease_owner/lease_until.
    private static string Inbox(string id) => $"""
        CREATE TABLE hub_inbox (
            id {id},
            dedupe_key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            payload TEXT NULL,
            received_at BIGINT NOT NULL,
            state INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL DEFAULT 0,
            lease_owner TEXT NULL,
            lease_until BIGINT NOT NULL DEFAULT 0,
            last_error TEXT NULL,
            finished_at BIGINT NULL);
        CREATE INDEX ix_hub_inbox_due ON hub_inbox(state, next_attempt_at);
        """;

    // Durable jobs (backfills); state is queued, running, succeeded or failed. One active job per app is enforced by
    // the store, under the tenant's write lock.
    private static string Jobs(string id) => $"""
        CREATE TABLE hub_jobs (
            id {id},
            kind TEXT NOT NULL,
            appid TEXT NOT NULL,
            state TEXT NOT NULL,
            progress TEXT NOT NULL,
            error TEXT NULL,
            created_at BIGINT NOT NULL,
            started_at BIGINT NULL,
            finished_at BIGINT NULL,
            lease_owner TEXT NULL,
            lease_until BIGINT NOT NULL DEFAULT 0);
        CREATE INDEX ix_hub_jobs_state ON hub_jobs(state);
        """;

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new Migration("hub/001-init", Init, Init),
        new Migration("hub/002-checkpoints", Checkpoints, Checkpoints),
        new Migration("hub/003-webhook-leases", WebhookLeases, WebhookLeases),
        new Migration("hub/004-inbox", Inbox("INTEGER PRIMARY KEY AUTOINCREMENT"), Inbox("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")),
        new Migration("hub/005-jobs", Jobs("INTEGER PRIMARY KEY AUTOINCREMENT"), Jobs("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")),
        new Migration("hub/010-api-key-model", ApiKeyModel, ApiKeyModel),
        new Migration("hub/011-callback-nonces", CallbackNonces, CallbackNonces),
        // What a job works on besides its app, e.g. the old appid of an OA account migration.
        new Migration("hub/012-job-parameters", JobParameters, JobParameters),
    ];

    private const string JobParameters = "ALTER TABLE hub_jobs ADD COLUMN parameter TEXT NULL;";
}
