using System.Data.Common;
using Dapper;
using OneId.Graph;
using OneId.Storage.Graph;

namespace OneId.Storage.Relationships;

/// <summary>
/// Relationships in one tenant's database, beside the graph (docs/model.md §3.10). Rows are keyed by the identifier
/// they were seen with; counts join them to the graph's <c>identifiers</c> table, read with the root of each
/// identifier's person (a merge only marks the absorbed person), so merges and splits are reflected without rewriting a row. Every upsert carries the time of its
/// evidence and changes a row only when that time is newer than the row's (<c>state_at</c>): retries and pushes
/// processed out of order never put an older state back. WeChat's CreateTime counts whole seconds: follows whose times
/// fall in one second are ordered by when the hub received them (<see cref="EvidenceArrival"/>), so the later-arriving
/// one wins; contacts, and follows that arrived in the same millisecond with no inbox order, let the end win (an
/// unfollow over a follow, a deletion over an add). Every follow change is also kept in <c>rel_follow_history</c>, so
/// followers per day count every follow period, not only the latest.
/// </summary>
public sealed class SqlRelationshipStore : IRelationshipStore
{
    private const long DayMs = 86_400_000;
    private readonly StoreDatabase _db;
    private readonly TimeProvider _time;

    private SqlRelationshipStore(StoreDatabase db, TimeProvider time)
    {
        _db = db;
        _time = time;
    }

    public static async Task<SqlRelationshipStore> OpenAsync(StoreDatabase db, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        await db.MigrateAsync(Migrations, cancellationToken).ConfigureAwait(false);
        return new SqlRelationshipStore(db, time);
    }

    // following/active are 0/1. state_at: the evidence time of the state held (ms); since: when that state began.
    // followed_at / unfollowed_at: the start and end of the latest follow period (followers per day use them).
    private const string Init = """
        CREATE TABLE rel_follows (
            identifier TEXT NOT NULL PRIMARY KEY,
            appid TEXT NOT NULL,
            following INTEGER NOT NULL,
            state_at BIGINT NOT NULL,
            since BIGINT NOT NULL,
            followed_at BIGINT NULL,
            unfollowed_at BIGINT NULL,
            scene TEXT NULL);
        CREATE INDEX ix_rel_follows_app ON rel_follows(appid, following);
        CREATE TABLE rel_contacts (
            identifier TEXT NOT NULL,
            member TEXT NOT NULL,
            corp TEXT NOT NULL,
            active INTEGER NOT NULL,
            state_at BIGINT NOT NULL,
            added_at BIGINT NULL,
            removed_at BIGINT NULL,
            removed_by TEXT NULL,
            state TEXT NULL,
            PRIMARY KEY (identifier, member));
        CREATE INDEX ix_rel_contacts_corp ON rel_contacts(corp, active);
        CREATE TABLE rel_channels (
            identifier TEXT NOT NULL,
            kind TEXT NOT NULL,
            owner TEXT NOT NULL,
            channel TEXT NOT NULL,
            first_at BIGINT NOT NULL,
            PRIMARY KEY (identifier, kind, owner, channel));
        CREATE INDEX ix_rel_channels_channel ON rel_channels(kind, owner, channel);
        """;

    // Members renamed by an id migration: (the namespace of the customers' ids, the member's old id) → its new id. A
    // change that still names the old id (a push from before the switch, processed late) lands on the new one.
    private const string MemberIds = """
        CREATE INDEX ix_rel_contacts_member ON rel_contacts(corp, member);
        CREATE TABLE rel_member_ids (
            ns TEXT NOT NULL,
            member TEXT NOT NULL,
            new_member TEXT NOT NULL,
            PRIMARY KEY (ns, member));
        CREATE INDEX ix_rel_member_ids_new ON rel_member_ids(ns, new_member);
        """;

    // The follow history: one row per follow state seen, at its evidence second (at), ordered within that second by
    // arrival (ms) and the inbox sequence (seq). The state of an openid at any instant is that of its latest row
    // before it, so followers per day count someone who left and came back on every day they followed. Keyed like
    // WeChat's own dedupe of events (FromUserName + CreateTime, and the event): a retried push adds no row and keeps
    // its first arrival. Rows of an existing database are seeded from the latest periods rel_follows held.
    private const string FollowHistory = """
        ALTER TABLE rel_follows ADD COLUMN state_arrival BIGINT NOT NULL DEFAULT 0;
        ALTER TABLE rel_follows ADD COLUMN state_seq BIGINT NOT NULL DEFAULT 0;
        CREATE TABLE rel_follow_history (
            identifier TEXT NOT NULL,
            appid TEXT NOT NULL,
            at BIGINT NOT NULL,
            following INTEGER NOT NULL,
            arrival BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            PRIMARY KEY (identifier, at, following));
        INSERT INTO rel_follow_history(identifier, appid, at, following, arrival, seq)
            SELECT identifier, appid, followed_at / 1000 * 1000, 1, followed_at, 0 FROM rel_follows WHERE followed_at IS NOT NULL
            ON CONFLICT DO NOTHING;
        INSERT INTO rel_follow_history(identifier, appid, at, following, arrival, seq)
            SELECT identifier, appid, unfollowed_at / 1000 * 1000, 0, unfollowed_at, 0 FROM rel_follows WHERE unfollowed_at IS NOT NULL
            ON CONFLICT DO NOTHING;
        INSERT INTO rel_follow_history(identifier, appid, at, following, arrival, seq)
            SELECT identifier, appid, state_at, following, state_at, 0 FROM rel_follows WHERE state_at IS NOT NULL
            ON CONFLICT DO NOTHING;
        """;

    // SQLite's data_version moves on every commit to the file, also the workers' (leases, inbox, cursors): a
    // relationships cache kept by it alone was emptied every few seconds and answered almost nothing. This counter
    // moves with every row of follows or contacts inserted, changed or deleted, by triggers, so by any writer of any
    // process and any build that opens the file; the cache reads it again only after data_version moved. PostgreSQL
    // has its own signal for these tables (NOTIFY oneid_rels_<schema>, see InTransactionAsync).
    private static readonly string ChangeCounterSqlite = "CREATE TABLE IF NOT EXISTS rel_changes(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);\n"
        + "INSERT INTO rel_changes(id, n) VALUES (1, 0) ON CONFLICT DO NOTHING;\n"
        + string.Concat(from table in new[] { "rel_follows", "rel_contacts" }
                        from change in new[] { "INSERT", "UPDATE", "DELETE" }
                        select $"CREATE TRIGGER IF NOT EXISTS {table}_{change.ToLowerInvariant()}_counted AFTER {change} ON {table} BEGIN UPDATE rel_changes SET n = n + 1 WHERE id = 1; END;\n");

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new Migration("relationships/001-init", Init, Init),
        new Migration("relationships/002-follow-history", FollowHistory, FollowHistory),
        new Migration("relationships/003-member-ids", MemberIds, MemberIds),
        new Migration("relationships/004-change-counter", ChangeCounterSqlite, "SELECT 1"),
    ];

    private const string FollowUpsert = """
        INSERT INTO rel_follows(identifier, appid, following, state_at, state_arrival, state_seq, since, followed_at, unfollowed_at, scene)
        VALUES (@identifier, @appid, @following, @at, @arrival, @seq, @since, @followedAt, @unfollowedAt, @scene)
        ON CONFLICT (identifier) DO UPDATE SET
            following = excluded.following,
            state_at = excluded.state_at,
            state_arrival = excluded.state_arrival,
            state_seq = excluded.state_seq,
            since = CASE WHEN rel_follows.following = excluded.following THEN rel_follows.since ELSE excluded.since END,
            followed_at = CASE WHEN excluded.following = 0 THEN rel_follows.followed_at
                               WHEN rel_follows.following = 1 AND rel_follows.followed_at IS NOT NULL THEN rel_follows.followed_at
                               ELSE excluded.followed_at END,
            unfollowed_at = CASE WHEN excluded.following = 1 THEN rel_follows.unfollowed_at
                                 WHEN rel_follows.following = 0 AND rel_follows.unfollowed_at IS NOT NULL THEN rel_follows.unfollowed_at
                                 ELSE excluded.unfollowed_at END,
            scene = COALESCE(excluded.scene, rel_follows.scene)
        WHERE (rel_follows.state_at, rel_follows.state_arrival, rel_follows.state_seq) < (excluded.state_at, excluded.state_arrival, excluded.state_seq)
           OR ((rel_follows.state_at, rel_follows.state_arrival, rel_follows.state_seq) = (excluded.state_at, excluded.state_arrival, excluded.state_seq)
               AND rel_follows.following = 1 AND excluded.following = 0)
        """;

    private const string FollowHistoryInsert = """
        INSERT INTO rel_follow_history(identifier, appid, at, following, arrival, seq) VALUES (@identifier, @appid, @at, @following, @arrival, @seq)
        ON CONFLICT (identifier, at, following) DO NOTHING
        """;

    private const string ContactUpsert = """
        INSERT INTO rel_contacts(identifier, member, corp, active, state_at, added_at, removed_at, removed_by, state)
        VALUES (@identifier, @member, @corp, @active, @at, @addedAt, @removedAt, @removedBy, @state)
        ON CONFLICT (identifier, member) DO UPDATE SET
            active = excluded.active,
            state_at = excluded.state_at,
            added_at = CASE WHEN excluded.active = 0 THEN rel_contacts.added_at
                            WHEN rel_contacts.active = 1 AND rel_contacts.added_at IS NOT NULL THEN rel_contacts.added_at
                            ELSE excluded.added_at END,
            removed_at = CASE WHEN excluded.active = 1 THEN NULL
                              WHEN rel_contacts.active = 0 AND rel_contacts.removed_at IS NOT NULL THEN rel_contacts.removed_at
                              ELSE excluded.removed_at END,
            removed_by = CASE WHEN excluded.active = 1 THEN NULL
                              WHEN rel_contacts.active = 0 AND rel_contacts.removed_by IS NOT NULL THEN rel_contacts.removed_by
                              ELSE excluded.removed_by END,
            state = CASE WHEN excluded.active = 1 THEN COALESCE(excluded.state, rel_contacts.state) ELSE rel_contacts.state END
        WHERE rel_contacts.state_at < excluded.state_at
           OR (rel_contacts.state_at = excluded.state_at AND rel_contacts.active = 1 AND excluded.active = 0)
        """;

    private const string ChannelUpsert = """
        INSERT INTO rel_channels(identifier, kind, owner, channel, first_at) VALUES (@identifier, @kind, @owner, @channel, @at)
        ON CONFLICT (identifier, kind, owner, channel) DO UPDATE SET first_at = excluded.first_at
        WHERE excluded.first_at < rel_channels.first_at
        """;

    private static long Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    // Evidence is compared by the whole second, the resolution of WeChat's CreateTime: a backfill that read the
    // follower list at 12:00:00.400 and an unfollow pushed with CreateTime 12:00:00 are the same second, and the end wins.
    private static long EvidenceMs(DateTimeOffset at) => at.ToUnixTimeSeconds() * 1000;

    public async Task<int> RecordFollowsAsync(IReadOnlyList<FollowChange> changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count == 0)
        {
            return 0;
        }
        var states = changes.Select(c =>
        {
            var since = Ms(c.Since ?? c.At);
            return new
            {
                identifier = c.OpenId.ToString(), appid = c.AppId, following = c.Following ? 1 : 0, at = EvidenceMs(c.At), since,
                followedAt = c.Following ? since : (long?)null, unfollowedAt = c.Following ? (long?)null : Ms(c.At), scene = c.Scene,
                arrival = Ms(c.Arrival?.ReceivedAt ?? c.At), seq = c.Arrival?.Sequence ?? 0,
            };
        }).ToArray();
        // The history keeps the state seen at its time and, for a follow known to have begun earlier (a backfill's
        // subscribe_time), the start of that follow too.
        var history = states.Select(s => new { s.identifier, s.appid, s.at, s.following, s.arrival, s.seq })
            .Concat(states.Where(s => s.following == 1 && s.since / 1000 * 1000 != s.at)
                .Select(s => new { s.identifier, s.appid, at = s.since / 1000 * 1000, s.following, s.arrival, s.seq }))
            .ToArray();
        return await ExecuteManyAsync([(FollowUpsert, states), (FollowHistoryInsert, history)], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The corp of a namespace: <c>corpid</c> or <c>corpid/provider</c> (a provider's ciphertext ids).</summary>
    private static string CorpOf(string ns) => ns.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? ns[..slash] : ns;

    public Task<int> RecordContactsAsync(IReadOnlyList<ContactChange> changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count == 0)
        {
            return Task.FromResult(0);
        }
        return InTransactionAsync(async (c, tx) =>
        {
            // A member renamed by an id migration: a change still naming the old id (a push from before the switch,
            // processed late) is the new id's. Read in the write's transaction, so a rename is either seen or not yet made.
            string In(string list) => _db.Kind == StoreKind.Sqlite ? $"IN @{list}" : $"= ANY(@{list})";
            var renamed = (await c.QueryAsync<(string Ns, string Member, string NewMember)>(new CommandDefinition(
                    $"SELECT ns, member, new_member FROM rel_member_ids WHERE ns {In("namespaces")} AND member {In("members")}",
                    new { namespaces = changes.Select(x => x.Corp).Distinct(StringComparer.Ordinal).ToArray(), members = changes.Select(x => x.Member).Distinct(StringComparer.Ordinal).ToArray() },
                    tx, cancellationToken: cancellationToken)).ConfigureAwait(false))
                .ToDictionary(r => (r.Ns, r.Member), r => r.NewMember);
            var rows = changes.Select(x => new
            {
                identifier = x.ExternalUserId.ToString(), member = renamed.GetValueOrDefault((x.Corp, x.Member), x.Member), corp = CorpOf(x.Corp),
                active = x.Active ? 1 : 0, at = EvidenceMs(x.At),
                addedAt = x.Active ? Ms(x.AddedAt ?? x.At) : (long?)null, removedAt = x.Active ? (long?)null : Ms(x.At),
                removedBy = x.Active ? null : x.RemovedBy, state = x.Active ? x.State : null,
            }).ToArray();
            return await c.ExecuteAsync(new CommandDefinition(ContactUpsert, rows, tx, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<int> RecordChannelsAsync(IReadOnlyList<ChannelTouch> touches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(touches);
        return ExecuteManyAsync(ChannelUpsert, touches.Select(t => new
        {
            identifier = t.Identifier.ToString(), kind = t.Kind, owner = CorpOf(t.Owner), channel = t.Channel, at = Ms(t.At),
        }).ToArray(), cancellationToken);
    }

    // Upserts of single rows are atomic on their own and touch no graph table, so on PostgreSQL they take no part in
    // the tenant's graph write lock; SQLite queues them at the database's in-process write gate like every writer.
    private Task<int> ExecuteManyAsync(string sql, object[] rows, CancellationToken ct) => ExecuteManyAsync([(sql, rows)], ct);

    // Several statements run in one transaction; the count is the first statement's (the state that changed).
    private async Task<int> ExecuteManyAsync((string Sql, object[] Rows)[] statements, CancellationToken ct)
    {
        if (statements[0].Rows.Length == 0)
        {
            return 0;
        }
        async Task<int> RunAsync(DbConnection connection, DbTransaction tx)
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(statements[0].Sql, statements[0].Rows, tx, cancellationToken: ct)).ConfigureAwait(false);
            foreach (var (sql, rows) in statements.Skip(1))
            {
                if (rows.Length > 0)
                {
                    await connection.ExecuteAsync(new CommandDefinition(sql, rows, tx, cancellationToken: ct)).ConfigureAwait(false);
                }
            }
            return changed;
        }
        return await InTransactionAsync(RunAsync, ct).ConfigureAwait(false);
    }

    // Relationship writes touch no graph table, so on PostgreSQL they take no part in the tenant's graph write lock;
    // SQLite queues them at the database's in-process write gate like every writer.
    // Every write of follows or contacts passes here. On PostgreSQL it notifies the relationships' channel in its
    // transaction (delivered when it commits), so every instance's relationships cache hears it, and moves this
    // process's signal as soon as it returns (also when it failed, perhaps after its commit). SQLite's data_version
    // moves on any commit by itself.
    private async Task<int> InTransactionAsync(Func<DbConnection, DbTransaction, Task<int>> work, CancellationToken ct)
    {
        if (_db is not PostgresDatabase pg)
        {
            return await _db.WriteAsync(work, ct).ConfigureAwait(false);
        }
        try
        {
            await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
            var changed = await work(c, tx).ConfigureAwait(false);
            await c.ExecuteAsync(new CommandDefinition("SELECT pg_notify('oneid_rels_' || current_schema(), '')", transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return changed;
        }
        finally
        {
            pg.Changes.RelationshipsChanged();
        }
    }

    // ---- identifiers replaced, members renamed
    //
    // Both move rows from one key to another. Where the new key holds a row already (a push with the new id came
    // first), the two are one relationship and the newer state is kept, judged as the upserts judge it (the end wins at
    // one second); a channel keeps its earliest touch. So nothing is counted twice and no newer state is lost.

    // "Old wins over new" for follows and contacts, with o the old row and n the new one.
    private const string FollowOldWins = "(o.state_at > n.state_at OR (o.state_at = n.state_at AND o.following = 0 AND n.following = 1))";
    private const string ContactOldWins = "(o.state_at > n.state_at OR (o.state_at = n.state_at AND o.active = 0 AND n.active = 1))";

    private const string MoveFollows = $"""
        DELETE FROM rel_follows WHERE identifier = @old AND EXISTS (
            SELECT 1 FROM rel_follows n, rel_follows o WHERE n.identifier = @new AND o.identifier = @old AND NOT {FollowOldWins});
        DELETE FROM rel_follows WHERE identifier = @new AND EXISTS (SELECT 1 FROM rel_follows o WHERE o.identifier = @old);
        UPDATE rel_follows SET identifier = @new, appid = @newNs WHERE identifier = @old;
        DELETE FROM rel_follow_history WHERE identifier = @old AND EXISTS (
            SELECT 1 FROM rel_follow_history n WHERE n.identifier = @new AND n.at = rel_follow_history.at AND n.following = rel_follow_history.following);
        UPDATE rel_follow_history SET identifier = @new, appid = @newNs WHERE identifier = @old;
        """;

    private const string MoveContacts = $"""
        DELETE FROM rel_contacts WHERE identifier = @old AND EXISTS (
            SELECT 1 FROM rel_contacts n, rel_contacts o WHERE n.identifier = @new AND o.identifier = @old
                AND n.member = rel_contacts.member AND o.member = rel_contacts.member AND NOT {ContactOldWins});
        DELETE FROM rel_contacts WHERE identifier = @new AND EXISTS (
            SELECT 1 FROM rel_contacts o WHERE o.identifier = @old AND o.member = rel_contacts.member);
        UPDATE rel_contacts SET identifier = @new, corp = @newCorp WHERE identifier = @old;
        """;

    private const string MoveChannels = """
        DELETE FROM rel_channels WHERE identifier = @old AND EXISTS (
            SELECT 1 FROM rel_channels n WHERE n.identifier = @new AND n.kind = rel_channels.kind AND n.owner = rel_channels.owner
                AND n.channel = rel_channels.channel AND n.first_at <= rel_channels.first_at);
        DELETE FROM rel_channels WHERE identifier = @new AND EXISTS (
            SELECT 1 FROM rel_channels o WHERE o.identifier = @old AND o.kind = rel_channels.kind AND o.owner = rel_channels.owner
                AND o.channel = rel_channels.channel);
        UPDATE rel_channels SET identifier = @new WHERE identifier = @old;
        """;

    public Task<int> MoveAsync(IReadOnlyList<Replacement> moves, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(moves);
        var rows = moves.Where(m => m.Old != m.New).Select(m => new
        {
            old = m.Old.ToString(), @new = m.New.ToString(), newNs = m.New.Namespace, newCorp = CorpOf(m.New.Namespace),
        }).ToArray();
        return rows.Length == 0 ? Task.FromResult(0) : InTransactionAsync(async (c, tx) =>
        {
            var changed = 0;
            foreach (var sql in new[] { MoveFollows, MoveContacts, MoveChannels })
            {
                changed += await c.ExecuteAsync(new CommandDefinition(sql, rows, tx, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
            return changed;
        }, cancellationToken);
    }

    /// <summary>Contacts of customers whose ids are in namespace <c>ns</c>: the identifier's key starts with <c>external_userid:ns:</c>.</summary>
    private static string InNamespace(string alias) => $"{alias}corp = @corp AND substr({alias}identifier, 1, @prefixLength) = @prefix";

    public async Task<IReadOnlyList<string>> ListMembersAsync(string ns, string? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ns);
        var prefix = $"{IdentifierType.ExternalUserId.Name}:{ns}:";
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // A member that is some member's new id is new already: converting it again would be a wasted call.
        return (await c.QueryAsync<string>(new CommandDefinition($"""
            SELECT DISTINCT r.member FROM rel_contacts r
            WHERE {InNamespace("r.")} AND r.member > @after
              AND NOT EXISTS (SELECT 1 FROM rel_member_ids m WHERE m.ns = @ns AND m.new_member = r.member)
            ORDER BY r.member LIMIT @limit
            """, new { ns, corp = CorpOf(ns), prefix, prefixLength = prefix.Length, after = after ?? "", limit = Math.Clamp(limit, 1, 10_000) },
            cancellationToken: cancellationToken)).ConfigureAwait(false)).ToArray();
    }

    private static readonly string RenameMembers = $"""
        INSERT INTO rel_member_ids(ns, member, new_member) VALUES (@ns, @old, @new) ON CONFLICT (ns, member) DO NOTHING;
        DELETE FROM rel_contacts WHERE member = @old AND {InNamespace("")} AND EXISTS (
            SELECT 1 FROM rel_contacts n, rel_contacts o WHERE n.identifier = rel_contacts.identifier AND n.member = @new
                AND o.identifier = rel_contacts.identifier AND o.member = @old AND NOT {ContactOldWins});
        DELETE FROM rel_contacts WHERE member = @new AND {InNamespace("")} AND EXISTS (
            SELECT 1 FROM rel_contacts o WHERE o.identifier = rel_contacts.identifier AND o.member = @old);
        UPDATE rel_contacts SET member = @new WHERE member = @old AND {InNamespace("")};
        """;

    public Task<int> RenameMembersAsync(string ns, IReadOnlyList<(string Member, string NewMember)> renames, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ns);
        ArgumentNullException.ThrowIfNull(renames);
        var prefix = $"{IdentifierType.ExternalUserId.Name}:{ns}:";
        var rows = renames.Where(r => r.Member != r.NewMember).Select(r => new
        {
            ns, corp = CorpOf(ns), prefix, prefixLength = prefix.Length, old = r.Member, @new = r.NewMember,
        }).ToArray();
        return rows.Length == 0 ? Task.FromResult(0)
            : InTransactionAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(RenameMembers, rows, tx, cancellationToken: cancellationToken)), cancellationToken);
    }

    private static DateTimeOffset? At(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;

    // A person's follows (tag 0) and contacts (tag 1) in one statement of a fixed shape: the keys are one parameter, a
    // JSON array read by json_each on SQLite and a text[] on PostgreSQL, so the text never changes with the number of
    // identifiers and is prepared once per connection (SqliteDirect's statements per native handle; Npgsql's
    // auto-prepare). An expanded IN (…) list was a new statement each time, and preparing it was half of a resolve.
    // On SQLite json_each drives a join into each primary key: `identifier IN (SELECT value FROM json_each(…))` stepped
    // about 1.6× as long in a loop over SQLite 3.40 (it first copies the keys into an ephemeral index per table).
    // Columns: tag, identifier, appid | corp, NULL | member, following | active, since | added_at,
    // followed_at | removed_at, unfollowed_at | NULL, scene | removed_by, NULL | state.
    private static string RelationshipsSql(string follows, string contacts) => $"""
        SELECT 0, f.identifier, f.appid, CAST(NULL AS TEXT), f.following, f.since, f.followed_at, f.unfollowed_at, f.scene, CAST(NULL AS TEXT)
        FROM {follows}
        UNION ALL
        SELECT 1, c.identifier, c.corp, c.member, c.active, c.added_at, c.removed_at, CAST(NULL AS BIGINT), c.removed_by, c.state
        FROM {contacts}
        ORDER BY 1, 3, 4, 2
        """;

    private static readonly string SqliteRelationshipsSql = RelationshipsSql(
        "json_each(?1) k JOIN rel_follows f ON f.identifier = k.value", "json_each(?1) k JOIN rel_contacts c ON c.identifier = k.value");

    private static readonly string PostgresRelationshipsSql = RelationshipsSql(
        "rel_follows f WHERE f.identifier = ANY(@keys)", "rel_contacts c WHERE c.identifier = ANY(@keys)");

    private const int MaxCachedRelationships = 200_000;

    // A person's relationships by its sorted keys, with the relationships' change token read before the rows.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Token, PersonRelationships Value)> _cache = new(StringComparer.Ordinal);

    // Counted here: ConcurrentDictionary.Count takes every bucket lock. Approximate, which is all a size bound needs.
    private int _cached;

    private long _relationshipReads;

    /// <summary>How many relationship lookups went to the database (the rest were answered from memory).</summary>
    public long RelationshipReads => Interlocked.Read(ref _relationshipReads);

    /// <summary>
    /// The follows and contacts of these identifiers. Every resolve asks, so an answer is kept in memory while the
    /// relationships' change token is unchanged since it was read (taken before the rows, so a write that lands during
    /// the read only makes the next call read again). SQLite: <c>data_version</c>, which moves on any commit of any
    /// process. PostgreSQL: the relationships' LISTEN generation, which moves when any instance's write of follows or
    /// contacts is heard (or one of this process returns); while that connection is down every lookup reads. So an
    /// answer is never older than the last write the signal has carried.
    /// </summary>
    public async Task<PersonRelationships> GetAsync(IReadOnlyCollection<Identifier> identifiers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        var keys = RelationshipKeys(identifiers);
        if (keys.Length == 0)
        {
            return PersonRelationships.None;
        }
        var cacheKey = keys.Length == 1 ? keys[0] : string.Join('\n', keys);
        var token = await TokenAsync(cancellationToken).ConfigureAwait(false);
        if (token is { } t && _cache.TryGetValue(cacheKey, out var hit) && hit.Token == t)
        {
            return hit.Value;
        }
        Interlocked.Increment(ref _relationshipReads);
        var value = await ReadAsync(keys, cancellationToken).ConfigureAwait(false);
        if (token is { } read)
        {
            if (Volatile.Read(ref _cached) >= MaxCachedRelationships)
            {
                _cache.Clear();
                Volatile.Write(ref _cached, 0);
            }
            var entry = (read, value);
            _cache.AddOrUpdate(cacheKey, _ => { Interlocked.Increment(ref _cached); return entry; }, (_, _) => entry);
        }
        return value;
    }

    /// <summary>
    /// The keys of the identifiers that can have relationships (openids follow, external_userids are contacts), sorted
    /// and distinct. A loop rather than LINQ: every resolve runs it, and the iterators and Distinct's set were a tenth of
    /// what a resolve allocated.
    /// </summary>
    private static string[] RelationshipKeys(IReadOnlyCollection<Identifier> identifiers)
    {
        static bool HasRelationships(Identifier i) => i.Type == IdentifierType.OpenId || i.Type == IdentifierType.ExternalUserId;
        var count = 0;
        foreach (var i in identifiers)
        {
            count += HasRelationships(i) ? 1 : 0;
        }
        if (count == 0)
        {
            return [];
        }
        var keys = new string[count];
        var n = 0;
        foreach (var i in identifiers)
        {
            if (HasRelationships(i))
            {
                keys[n++] = i.ToString();
            }
        }
        if (count == 1)
        {
            return keys;
        }
        Array.Sort(keys, StringComparer.Ordinal);
        n = 1;
        for (var k = 1; k < keys.Length; k++)
        {
            if (!string.Equals(keys[k], keys[n - 1], StringComparison.Ordinal))
            {
                keys[n++] = keys[k];
            }
        }
        return n == keys.Length ? keys : keys[..n];
    }

    private sealed record CounterAt(long DataVersion, long Counter);

    private volatile CounterAt? _counter;

    /// <summary>
    /// The relationships' change token. PostgreSQL: the LISTEN generation. SQLite: the triggers' counter, read again
    /// only when data_version moved since it was last read; data_version is taken first, so a commit that lands during
    /// the read only makes the next call read again.
    /// </summary>
    private async ValueTask<long?> TokenAsync(CancellationToken ct)
    {
        var token = _db.ChangeToken(ChangeScope.Relationships);
        if (_db.Kind != StoreKind.Sqlite || token is not { } version)
        {
            return token;
        }
        if (_counter is { } last && last.DataVersion == version)
        {
            return last.Counter;
        }
        await using var c = await _db.OpenConnectionAsync(ct).ConfigureAwait(false);
        var counter = Graph.SqliteDirect.For((Microsoft.Data.Sqlite.SqliteConnection)c).TryInt64(CounterSql, "", out var n) ? n : 0;
        _counter = new CounterAt(version, counter);
        return counter;
    }

    // The parameter is unused: SqliteDirect's scalar form binds one.
    private const string CounterSql = "SELECT n FROM rel_changes WHERE id = 1 AND ?1 IS NOT NULL";

    private async Task<PersonRelationships> ReadAsync(string[] keys, CancellationToken cancellationToken)
    {
        var follows = new List<FollowRelationship>();
        var contacts = new List<ContactRelationship>();
        void Row(int tag, string identifier, string owner, string? member, long flag, long? t1, long? t2, long? t3, string? s1, string? s2)
        {
            if (tag == 0)
            {
                follows.Add(new FollowRelationship(owner, Identifier.FromStored(identifier), flag != 0, DateTimeOffset.FromUnixTimeMilliseconds(t1 ?? 0), s1, At(t2), At(t3)));
            }
            else
            {
                contacts.Add(new ContactRelationship(owner, Identifier.FromStored(identifier), member!, flag != 0, At(t1), At(t2), s1, s2));
            }
        }
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (c is Microsoft.Data.Sqlite.SqliteConnection sqlite)
        {
            static string? Text(SQLitePCL.sqlite3_stmt row, int i) =>
                SQLitePCL.raw.sqlite3_column_type(row, i) == SQLitePCL.raw.SQLITE_NULL ? null : SQLitePCL.raw.sqlite3_column_text(row, i).utf8_to_string();
            static long? Number(SQLitePCL.sqlite3_stmt row, int i) =>
                SQLitePCL.raw.sqlite3_column_type(row, i) == SQLitePCL.raw.SQLITE_NULL ? null : SQLitePCL.raw.sqlite3_column_int64(row, i);
            Graph.SqliteDirect.For(sqlite).Query(SqliteRelationshipsSql, System.Text.Json.JsonSerializer.Serialize(keys), row => Row(
                SQLitePCL.raw.sqlite3_column_int(row, 0), Text(row, 1)!, Text(row, 2)!, Text(row, 3), SQLitePCL.raw.sqlite3_column_int64(row, 4),
                Number(row, 5), Number(row, 6), Number(row, 7), Text(row, 8), Text(row, 9)));
        }
        else
        {
            await using var cmd = c.CreateCommand();
            cmd.CommandText = PostgresRelationshipsSql;
            StoreDatabase.AddParameter(cmd, "keys", keys);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            long? Number(int i) => reader.IsDBNull(i) ? null : Convert.ToInt64(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                Row(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), reader.GetString(1), reader.GetString(2), Text(3),
                    Number(4) ?? 0, Number(5), Number(6), Number(7), Text(8), Text(9));
            }
        }
        return new PersonRelationships(follows, contacts);
    }

    public async Task<RelationshipStats> GetStatsAsync(int days, CancellationToken cancellationToken)
    {
        days = Math.Clamp(days, 0, 366);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        CommandDefinition Q(string sql, object? args = null) => new(sql, args, cancellationToken: cancellationToken);

        // Distinct persons: a person following two OAs, or with two openids of one OA after a merge, counts once.
        var followers = await c.ExecuteScalarAsync<long>(Q($"""
            SELECT COUNT(DISTINCT i.person_id) FROM rel_follows f JOIN {GraphCommands.IdentifierRoots} i ON i.key = f.identifier WHERE f.following = 1
            """)).ConfigureAwait(false);
        var perApp = (await c.QueryAsync<(string, long)>(Q($"""
            SELECT f.appid, COUNT(DISTINCT i.person_id) FROM rel_follows f JOIN {GraphCommands.IdentifierRoots} i ON i.key = f.identifier
            WHERE f.following = 1 GROUP BY f.appid ORDER BY f.appid
            """)).ConfigureAwait(false)).ToDictionary(r => r.Item1, r => r.Item2, StringComparer.Ordinal);
        var contacts = await c.ExecuteScalarAsync<long>(Q($"""
            SELECT COUNT(DISTINCT i.person_id) FROM rel_contacts r JOIN {GraphCommands.IdentifierRoots} i ON i.key = r.identifier WHERE r.active = 1
            """)).ConfigureAwait(false);
        var perCorp = (await c.QueryAsync<(string, long)>(Q($"""
            SELECT r.corp, COUNT(DISTINCT i.person_id) FROM rel_contacts r JOIN {GraphCommands.IdentifierRoots} i ON i.key = r.identifier
            WHERE r.active = 1 GROUP BY r.corp ORDER BY r.corp
            """)).ConfigureAwait(false)).ToDictionary(r => r.Item1, r => r.Item2, StringComparer.Ordinal);
        var channels = (await c.QueryAsync<(string, string, string, long, long, long)>(Q($"""
            SELECT ch.kind, ch.owner, ch.channel, COUNT(DISTINCT i.person_id),
                   COUNT(DISTINCT CASE WHEN i.person_id IN (SELECT j.person_id FROM {GraphCommands.IdentifierRoots} j JOIN rel_contacts r ON r.identifier = j.key)
                                       THEN i.person_id END),
                   COUNT(DISTINCT CASE WHEN i.person_id IN (SELECT j.person_id FROM {GraphCommands.IdentifierRoots} j JOIN rel_contacts r ON r.identifier = j.key
                                                            WHERE r.active = 1) THEN i.person_id END)
            FROM rel_channels ch JOIN {GraphCommands.IdentifierRoots} i ON i.key = ch.identifier
            GROUP BY ch.kind, ch.owner, ch.channel ORDER BY ch.kind, ch.owner, ch.channel
            """)).ConfigureAwait(false)).Select(r => new ChannelCount(r.Item1, r.Item2, r.Item3, r.Item4, r.Item5, r.Item6)).ToArray();

        var perDay = new List<DailyFollowers>(days);
        if (days > 0)
        {
            var today = _time.GetUtcNow().ToUnixTimeMilliseconds() / DayMs * DayMs;
            var first = today - (days - 1) * DayMs;
            // Following at the end of day d (the instant d + 1 day): an openid's state then is that of its latest
            // history row before it. LEAD gives each row the time of the next one, so a row is a period of one state
            // [at, until); rows of one second are ordered by arrival, and at a full tie the end comes last, as in
            // rel_follows. A person counts once per day in all, and once per OA.
            var rows = (await c.QueryAsync<(long, string, long)>(Q($"""
                WITH RECURSIVE days(d) AS (SELECT CAST(@first AS BIGINT) UNION ALL SELECT d + 86400000 FROM days WHERE d < @last),
                periods AS (
                    SELECT identifier, appid, following, at,
                           LEAD(at) OVER (PARTITION BY identifier ORDER BY at, arrival, seq, following DESC) AS until
                    FROM rel_follow_history),
                followed AS (
                    SELECT days.d, p.appid, i.person_id FROM days
                    JOIN periods p ON p.following = 1 AND p.at < days.d + 86400000 AND (p.until IS NULL OR p.until >= days.d + 86400000)
                    JOIN {GraphCommands.IdentifierRoots} i ON i.key = p.identifier)
                SELECT d, '', COUNT(DISTINCT person_id) FROM followed GROUP BY d
                UNION ALL
                SELECT d, appid, COUNT(DISTINCT person_id) FROM followed GROUP BY d, appid
                """, new { first, last = today })).ConfigureAwait(false)).ToArray();
            var totals = rows.Where(r => r.Item2.Length == 0).ToDictionary(r => r.Item1, r => r.Item3);
            var appsPerDay = rows.Where(r => r.Item2.Length > 0).ToLookup(r => r.Item1);
            for (var d = first; d <= today; d += DayMs)
            {
                perDay.Add(new DailyFollowers(DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(d).UtcDateTime), totals.GetValueOrDefault(d),
                    appsPerDay[d].OrderBy(r => r.Item2, StringComparer.Ordinal).ToDictionary(r => r.Item2, r => r.Item3, StringComparer.Ordinal)));
            }
        }
        return new RelationshipStats(followers, perApp, contacts, perCorp, channels, perDay);
    }
}
