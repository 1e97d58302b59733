using System.Data.Common;
using OneId.Storage.Secrets;
using OneId.WeChat.Ids;
using OneId.WeChat.Tokens;

namespace OneId.Storage.Tokens;

/// <summary>
/// <see cref="ITokenStore"/> on a <see cref="StoreDatabase"/> (SQLite or PostgreSQL), so that every OneId process sharing
/// the database shares tokens and leases. Each operation is one short statement or transaction on its own connection;
/// it does not take the graph's tenant write lock, so token refreshes never wait behind merges. Tokens, verify tickets and
/// authorizer refresh tokens are stored encrypted with the data key (<see cref="DataProtector"/>), each bound to its row;
/// one that does not decrypt (another data key) reads as absent, so the token service fetches it again.
/// </summary>
public sealed class SqlTokenStore : ITokenStore
{
    private readonly StoreDatabase _db;
    private readonly DataProtector _protector;
    private readonly SemaphoreSlim _migration = new(1, 1);
    private volatile bool _migrated;

    /// <summary>A store over <paramref name="db"/>; the token tables are created on first use (DI-friendly).</summary>
    public SqlTokenStore(StoreDatabase db, DataProtector protector)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(protector);
        _db = db;
        _protector = protector;
    }

    /// <summary>Applies the token migrations (idempotent, safe from several processes) and returns the store.</summary>
    public static async Task<SqlTokenStore> OpenAsync(StoreDatabase db, DataProtector protector, CancellationToken cancellationToken)
    {
        var store = new SqlTokenStore(db, protector);
        await store.EnsureMigratedAsync(cancellationToken).ConfigureAwait(false);
        return store;
    }

    private async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await EnsureMigratedAsync(cancellationToken).ConfigureAwait(false);
        return await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureMigratedAsync(CancellationToken cancellationToken)
    {
        if (_migrated)
        {
            return;
        }
        await _migration.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_migrated)
            {
                await _db.MigrateAsync(TokenSchema.Migrations, cancellationToken).ConfigureAwait(false);
                await EncryptPlaintextRowsAsync(cancellationToken).ConfigureAwait(false);
                _migrated = true;
            }
        }
        finally
        {
            _migration.Release();
        }
    }

    public async Task<StoredToken?> GetTokenAsync(string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(connection, null,
            "SELECT key, value, issued_at, expires_at, forced_day, forced_count, last_forced_at FROM wechat_tokens WHERE key = @key",
            ("key", key));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        var rowKey = reader.GetString(0);
        if (_protector.Unprotect(reader.GetString(1), TokenData(rowKey)) is not { } value)
        {
            return null;
        }
        return new StoredToken(
            rowKey,
            value,
            FromMs(reader.GetInt64(2)),
            FromMs(reader.GetInt64(3)),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            Convert.ToInt32(reader.GetValue(5), System.Globalization.CultureInfo.InvariantCulture),
            reader.IsDBNull(6) ? null : FromMs(reader.GetInt64(6)));
    }

    public async Task<TokenLease?> TryAcquireLeaseAsync(string key, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken)
    {
        var expires = now + duration;
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // One atomic upsert: take the row when it is free, ours, or expired. RETURNING yields a row only when we got it,
        // so two processes racing for one key cannot both win (the row lock / SQLite's write lock orders them).
        await using var cmd = Command(connection, null, """
            INSERT INTO wechat_token_leases (key, owner, expires_at) VALUES (@key, @owner, @expires)
            ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
            WHERE wechat_token_leases.owner = excluded.owner OR wechat_token_leases.expires_at <= @now
            RETURNING owner
            """, ("key", key), ("owner", owner), ("expires", Ms(expires)), ("now", Ms(now)));
        var result = await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return result is string o && o == owner ? new TokenLease(key, owner, expires) : null;
    }

    public async Task<bool> SaveTokenAsync(TokenLease lease, StoredToken token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(token);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Write first, so SQLite takes its write lock at the first statement (no read-then-upgrade SQLITE_BUSY).
        await using (var release = Command(connection, tx, "DELETE FROM wechat_token_leases WHERE key = @key AND owner = @owner",
            ("key", lease.Key), ("owner", lease.Owner)))
        {
            if (await release.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                await using var other = Command(connection, tx, "SELECT COUNT(*) FROM wechat_token_leases WHERE key = @key", ("key", lease.Key));
                if (Convert.ToInt64(await other.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) > 0)
                {
                    // Our lease expired and another process holds it now: its fetch wins.
                    await tx.RollbackAsync(cancellationToken).ConfigureAwait(false);
                    return false;
                }
            }
        }
        await using (var upsert = Command(connection, tx, """
            INSERT INTO wechat_tokens (key, value, issued_at, expires_at, forced_day, forced_count, last_forced_at)
            VALUES (@key, @value, @issued, @expires, @forced_day, @forced_count, @last_forced)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, issued_at = excluded.issued_at, expires_at = excluded.expires_at,
                forced_day = excluded.forced_day, forced_count = excluded.forced_count, last_forced_at = excluded.last_forced_at
            """,
            ("key", token.Key), ("value", _protector.Protect(token.Value, TokenData(token.Key))), ("issued", Ms(token.IssuedAt)), ("expires", Ms(token.ExpiresAt)),
            ("forced_day", token.ForcedDay), ("forced_count", token.ForcedCount), ("last_forced", token.LastForcedAt is { } f ? Ms(f) : null)))
        {
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task ReleaseLeaseAsync(TokenLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        await ExecuteAsync("DELETE FROM wechat_token_leases WHERE key = @key AND owner = @owner", cancellationToken,
            ("key", lease.Key), ("owner", lease.Owner)).ConfigureAwait(false);
    }

    public async Task<ComponentVerifyTicket?> GetVerifyTicketAsync(AppId componentAppId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(connection, null, "SELECT ticket, create_time FROM wechat_verify_tickets WHERE component_appid = @c",
            ("c", componentAppId.Value));
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            && _protector.Unprotect(reader.GetString(0), TicketData(componentAppId)) is { } ticket
            ? new ComponentVerifyTicket(componentAppId, ticket, FromMs(reader.GetInt64(1)))
            : null;
    }

    public async Task<bool> SaveVerifyTicketAsync(ComponentVerifyTicket ticket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        // Pushes can arrive out of order (retries): keep the newest by CreateTime. The statement touches no row when
        // the stored ticket is newer, and that is what the caller is told.
        return await ExecuteAsync("""
            INSERT INTO wechat_verify_tickets (component_appid, ticket, create_time) VALUES (@c, @t, @at)
            ON CONFLICT (component_appid) DO UPDATE SET ticket = excluded.ticket, create_time = excluded.create_time
            WHERE wechat_verify_tickets.create_time <= excluded.create_time
            """, cancellationToken, ("c", ticket.ComponentAppId.Value), ("t", _protector.Protect(ticket.Ticket, TicketData(ticket.ComponentAppId))),
            ("at", Ms(ticket.CreateTime))).ConfigureAwait(false) > 0;
    }

    public async Task<string?> GetAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(connection, null,
            "SELECT refresh_token FROM wechat_authorizers WHERE component_appid = @c AND authorizer_appid = @a",
            ("c", componentAppId.Value), ("a", authorizerAppId.Value));
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string stored
            ? _protector.Unprotect(stored, AuthorizerData(componentAppId, authorizerAppId))
            : null;
    }

    public Task SaveAuthorizerRefreshTokenAsync(AppId componentAppId, AppId authorizerAppId, string refreshToken, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(refreshToken);
        return ExecuteAsync("""
            INSERT INTO wechat_authorizers (component_appid, authorizer_appid, refresh_token, updated_at) VALUES (@c, @a, @r, @at)
            ON CONFLICT (component_appid, authorizer_appid) DO UPDATE SET refresh_token = excluded.refresh_token, updated_at = excluded.updated_at
            """, cancellationToken, ("c", componentAppId.Value), ("a", authorizerAppId.Value),
            ("r", _protector.Protect(refreshToken, AuthorizerData(componentAppId, authorizerAppId))), ("at", Ms(DateTimeOffset.UtcNow)));
    }

    public async Task DeleteAuthorizerAsync(AppId componentAppId, AppId authorizerAppId, CancellationToken cancellationToken)
    {
        var key = TokenKey.Authorizer(componentAppId, authorizerAppId).StoreKey;
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (sql, args) in new (string, (string, object?)[])[]
        {
            ("DELETE FROM wechat_authorizers WHERE component_appid = @c AND authorizer_appid = @a", [("c", componentAppId.Value), ("a", authorizerAppId.Value)]),
            ("DELETE FROM wechat_tokens WHERE key = @key", [("key", key)]),
            ("DELETE FROM wechat_token_leases WHERE key = @key", [("key", key)]),
        })
        {
            await using var cmd = Command(connection, tx, sql, args);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] args)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = Command(connection, null, sql, args);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // What each encrypted value is bound to: its table and row.
    private static string TokenData(string key) => "wechat_tokens/" + key;
    private static string TicketData(AppId component) => "wechat_verify_tickets/" + component.Value;
    private static string AuthorizerData(AppId component, AppId authorizer) => $"wechat_authorizers/{component.Value}/{authorizer.Value}";

    /// <summary>
    /// Rows written before secrets were encrypted (plain text) are encrypted in place once, so that an upgraded
    /// database keeps its authorizer refresh tokens (losing one means the authorizer must authorize again).
    /// </summary>
    private async Task EncryptPlaintextRowsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var updates = new List<(string Sql, (string, object?)[] Args)>();
        await using (var read = Command(connection, null, """
            SELECT 't', key, '', value FROM wechat_tokens WHERE value NOT LIKE 'v1.%'
            UNION ALL SELECT 'v', component_appid, '', ticket FROM wechat_verify_tickets WHERE ticket NOT LIKE 'v1.%'
            UNION ALL SELECT 'a', component_appid, authorizer_appid, refresh_token FROM wechat_authorizers WHERE refresh_token NOT LIKE 'v1.%'
            """))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (kind, a, b, plain) = (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3));
                updates.Add(kind switch
                {
                    "t" => ("UPDATE wechat_tokens SET value = @v WHERE key = @a AND value = @p", [("v", _protector.Protect(plain, TokenData(a))), ("a", a), ("p", plain)]),
                    "v" => ("UPDATE wechat_verify_tickets SET ticket = @v WHERE component_appid = @a AND ticket = @p",
                        [("v", _protector.Protect(plain, TicketData(AppId.Parse(a)))), ("a", a), ("p", plain)]),
                    _ => ("UPDATE wechat_authorizers SET refresh_token = @v WHERE component_appid = @a AND authorizer_appid = @b AND refresh_token = @p",
                        [("v", _protector.Protect(plain, AuthorizerData(AppId.Parse(a), AppId.Parse(b)))), ("a", a), ("b", b), ("p", plain)]),
                });
            }
        }
        foreach (var (sql, args) in updates)
        {
            await using var cmd = Command(connection, null, sql, args);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            StoreDatabase.AddParameter(cmd, name, value);
        }
        return cmd;
    }

    private static long Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
