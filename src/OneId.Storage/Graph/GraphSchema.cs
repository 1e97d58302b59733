namespace OneId.Storage.Graph;

/// <summary>
/// The graph's tables. Exclusive and weak identifiers live apart: exclusive keys are unique, weak ones are not. On
/// SQLite ids are allocated by the one writer (<c>MAX()+1</c>); on PostgreSQL, where writers of a tenant run side by
/// side, person and observation ids come from sequences and event sequence numbers from the <c>event_head</c> row at
/// publication (see <see cref="GraphCommands"/>).
/// </summary>
public static class GraphSchema
{
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new Migration("graph/001-init", Sqlite: Init("INTEGER", " WITHOUT ROWID"), Postgres: Init("BIGINT", "")),
        new Migration("graph/002-keep-apart-and-conflicts", Sqlite: OperatorTables, Postgres: OperatorTables),
        // An observation's identity (Observation.Key): an import re-run or a retried POST applies it once.
        new Migration("graph/003-observation-keys", Sqlite: ObservationKeys, Postgres: ObservationKeys),
        // Replacement (docs/model.md §3.9): a replaced identifier keeps its row (it still resolves) and names its
        // successor; an observation keeps what it said was replaced, so that a retraction can recompute the marks.
        new Migration("graph/004-replacements", Sqlite: Replacements, Postgres: Replacements),
        // PostgreSQL writers that do not queue on one lock: ids from sequences, and the event log's head as one row
        // that a writer updates last, just before its commit (the ordered publication step). SQLite keeps its single
        // writer and needs neither.
        new Migration("graph/005-concurrent-writers", Sqlite: "SELECT 1", Postgres: ConcurrentWriters),
        // "Is this identifier the successor of another?" — a migration's walk skips ids that are new already.
        new Migration("graph/006-replaced-by-index", Sqlite: ReplacedByIndex, Postgres: ReplacedByIndex),
        // The key already says the type and namespace: on SQLite they become virtual columns, computed when read and
        // never written, so an identifier row and its index entry carry the key once. PostgreSQL, which has no
        // virtual columns before version 18, keeps them stored.
        new Migration("graph/007-identifier-key-once", Sqlite: IdentifierKeyOnceSqlite, Postgres: "SELECT 1"),
    ];

    // A key is type:namespace:value, and neither the type nor the namespace contains ':' (no namespace shape of
    // IdentifierType admits one), so the first two colons split it. SQLite cannot change a column into a generated
    // one: the table is rebuilt, in the migration's transaction.
    private const string IdentifierKeyOnceSqlite = """
        CREATE TABLE identifiers_keyed (
            key TEXT NOT NULL PRIMARY KEY,
            person_id BIGINT NOT NULL,
            replaced_by TEXT NULL,
            type TEXT GENERATED ALWAYS AS (substr(key, 1, instr(key, ':') - 1)) VIRTUAL,
            ns TEXT GENERATED ALWAYS AS (substr(key, instr(key, ':') + 1, instr(substr(key, instr(key, ':') + 1), ':') - 1)) VIRTUAL) WITHOUT ROWID;
        INSERT INTO identifiers_keyed (key, person_id, replaced_by) SELECT key, person_id, replaced_by FROM identifiers;
        DROP TABLE identifiers;
        ALTER TABLE identifiers_keyed RENAME TO identifiers;
        CREATE INDEX ix_identifiers_person ON identifiers(person_id);
        """ + ReplacedByIndex;

    private const string ReplacedByIndex = "CREATE INDEX ix_identifiers_replaced_by ON identifiers(replaced_by) WHERE replaced_by IS NOT NULL;";

    // The sequences start after the ids already taken. setval runs in a DO block so that on Citus it runs on the
    // coordinator, which hands out the sequence's values, while the MAX() reads go to the tenant's worker.
    // `writes` counts committed graph writes: with side-by-side writers MAX(observations.id) no longer grows with
    // every commit, so the graph version (what caches compare) is read from this row.
    private const string ConcurrentWriters = """
        CREATE SEQUENCE persons_id_seq;
        CREATE SEQUENCE observations_id_seq;
        CREATE TABLE event_head (
            id INTEGER NOT NULL PRIMARY KEY,
            seq BIGINT NOT NULL,
            writes BIGINT NOT NULL);
        INSERT INTO event_head (id, seq, writes) SELECT 1, COALESCE(MAX(seq), 0), 0 FROM events;
        DO $$
        DECLARE m BIGINT;
        BEGIN
            SELECT COALESCE(MAX(id), 0) INTO m FROM persons;
            PERFORM setval('persons_id_seq', m + 1, false);
            SELECT COALESCE(MAX(id), 0) INTO m FROM observations;
            PERFORM setval('observations_id_seq', m + 1, false);
        END $$;
        """;

    private const string Replacements = """
        ALTER TABLE identifiers ADD COLUMN replaced_by TEXT NULL;
        ALTER TABLE observations ADD COLUMN replaces TEXT NULL;
        """;

    // Keep-apart rows are stored in both directions, so "whom is p kept apart from" is one index lookup; like every
    // row of an absorbed person they keep its id after a merge and are read as its root (persons.merged_into). Conflicts are the rejected observations with what they dispute and how an
    // operator closed them; rejected observations from before this table get a row without disputes.
    private const string OperatorTables = """
                CREATE TABLE keep_apart (
                    a BIGINT NOT NULL,
                    b BIGINT NOT NULL,
                    created_at BIGINT NOT NULL);
                CREATE INDEX ix_keep_apart_a ON keep_apart(a);
                CREATE TABLE conflicts (
                    observation_id BIGINT NOT NULL PRIMARY KEY,
                    state INTEGER NOT NULL DEFAULT 0,
                    disputes TEXT NULL,
                    resolved_at BIGINT NULL,
                    applied_as BIGINT NULL,
                    retracted TEXT NULL);
                CREATE INDEX ix_conflicts_state ON conflicts(state, observation_id);
                INSERT INTO conflicts (observation_id, state) SELECT id, 0 FROM observations WHERE status = 1;
                """;

    private const string ObservationKeys = """
        ALTER TABLE observations ADD COLUMN key TEXT NULL;
        CREATE UNIQUE INDEX ux_observations_key ON observations(key) WHERE key IS NOT NULL;
        """;

    // One schema, two dialects: SQLite wants INTEGER PRIMARY KEY (an alias of the rowid) and WITHOUT ROWID for
    // tables keyed by text; PostgreSQL wants BIGINT and has no rowid.
    private static string Init(string id, string withoutRowId) => """
                CREATE TABLE persons (
                    id {ID} PRIMARY KEY,
                    created_at BIGINT NOT NULL,
                    merged_into BIGINT NULL,
                    gone INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX ix_persons_merged_into ON persons(merged_into) WHERE merged_into IS NOT NULL;
                CREATE TABLE identifiers (
                    key TEXT NOT NULL PRIMARY KEY,
                    type TEXT NOT NULL,
                    ns TEXT NOT NULL,
                    person_id BIGINT NOT NULL){WITHOUT_ROWID};
                CREATE INDEX ix_identifiers_person ON identifiers(person_id);
                CREATE TABLE weak_identifiers (
                    key TEXT NOT NULL,
                    type TEXT NOT NULL,
                    person_id BIGINT NOT NULL,
                    PRIMARY KEY (key, person_id)){WITHOUT_ROWID};
                CREATE INDEX ix_weak_identifiers_person ON weak_identifiers(person_id);
                CREATE TABLE observations (
                    id {ID} PRIMARY KEY,
                    status INTEGER NOT NULL,
                    person_id BIGINT NULL,
                    source TEXT NOT NULL,
                    at BIGINT NOT NULL,
                    ids TEXT NOT NULL,
                    profile TEXT NULL,
                    conflict TEXT NULL);
                CREATE INDEX ix_observations_person ON observations(person_id);
                CREATE TABLE events (
                    seq {ID} PRIMARY KEY,
                    kind TEXT NOT NULL,
                    person_id BIGINT NULL,
                    others TEXT NULL,
                    observation_id BIGINT NULL,
                    ids TEXT NULL,
                    detail TEXT NULL,
                    at BIGINT NOT NULL);
                CREATE INDEX ix_events_person ON events(person_id) WHERE person_id IS NOT NULL;
                """.Replace("{ID}", id, StringComparison.Ordinal).Replace("{WITHOUT_ROWID}", withoutRowId, StringComparison.Ordinal);
}
