using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using OneId.Graph;

namespace OneId.Storage.Graph;

/// <summary>
/// The person graph on SQL (SQLite or PostgreSQL, one code path). Each write loads what the rules need, asks
/// <see cref="GraphRules"/>, and writes the answer with its audit events in the same transaction, under the
/// tenant's write lock.
/// </summary>
public sealed class SqlGraphStore : IGraphStore
{
    private readonly StoreDatabase _db;
    private readonly bool _ownsDatabase;
    private readonly TimeProvider _time;

    private SqlGraphStore(StoreDatabase db, bool ownsDatabase, TimeProvider time)
    {
        _db = db;
        _ownsDatabase = ownsDatabase;
        _time = time;
    }

    public StoreDatabase Database => _db;

    /// <summary>Opens the graph in <paramref name="db"/>, applying its migrations.</summary>
    public static async Task<SqlGraphStore> OpenAsync(StoreDatabase db, CancellationToken cancellationToken, TimeProvider? time = null, bool ownsDatabase = false)
    {
        ArgumentNullException.ThrowIfNull(db);
        await db.MigrateAsync(GraphSchema.Migrations, cancellationToken).ConfigureAwait(false);
        return new SqlGraphStore(db, ownsDatabase, time ?? TimeProvider.System);
    }

    /// <summary>Opens a SQLite file or PostgreSQL connection string (see <see cref="StoreDatabase.Open"/>).</summary>
    public static Task<SqlGraphStore> OpenAsync(string db, CancellationToken cancellationToken, string? tenant = null) =>
        OpenAsync(StoreDatabase.Open(db, tenant), cancellationToken, ownsDatabase: true);

    public async Task<ObserveResult> ObserveAsync(Observation observation, CancellationToken cancellationToken) =>
        (await ObserveManyAsync([observation], cancellationToken).ConfigureAwait(false))[0];

    public Task<IReadOnlyList<ObserveResult>> ObserveManyAsync(IReadOnlyList<Observation> observations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(observations);
        return _db.WriteAsync<IReadOnlyList<ObserveResult>>(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            return await new GraphBatch(sql, _time.GetUtcNow()).ApplyAsync(observations, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<RetractResult> RetractAsync(ObservationId observation, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            var now = _time.GetUtcNow();
            var (status, personId) = await sql.ObservationStatusAsync(observation, cancellationToken).ConfigureAwait(false)
                ?? throw new UnknownObservationException(observation);
            if (status != (int)ObservationStatus.Accepted)
            {
                throw new InvalidOperationException(status == (int)ObservationStatus.Rejected
                    ? $"observation {observation} was rejected as a conflict; only accepted observations can be retracted"
                    : $"observation {observation} is already retracted");
            }
            await sql.SetObservationStatusAsync(observation, (int)ObservationStatus.Retracted, cancellationToken).ConfigureAwait(false);
            var events = new List<GraphEvent>();
            if (personId is not { } person)
            {
                events.Add(await sql.InsertEventAsync(GraphEventKind.Retracted, null, [], observation, [], null, now, cancellationToken).ConfigureAwait(false));
                return new RetractResult(observation, [], events);
            }

            // Recompute the person from what remains: it may fall apart into several components.
            var remaining = await sql.ObservationsOfAsync(person, onlyAccepted: true, cancellationToken).ConfigureAwait(false);
            var components = GraphRules.Components(remaining);
            await sql.DeleteIdentifiersOfAsync(person, cancellationToken).ConfigureAwait(false);
            var persons = new List<PersonId>();
            foreach (var (component, index) in components.Select((c, i) => (c, i)))
            {
                // The part holding the oldest remaining observation keeps the id; the others are new persons.
                var owner = index == 0 ? person : await sql.InsertPersonAsync(now, cancellationToken).ConfigureAwait(false);
                persons.Add(owner);
                await sql.InsertExclusiveAsync(component.Identifiers.Where(i => i.IsExclusive)
                    .Select(i => new object?[] { i.ToString(), i.Type.Name, i.Namespace, owner.Value }).ToArray(), cancellationToken).ConfigureAwait(false);
                await sql.InsertWeakAsync(component.Identifiers.Where(i => !i.IsExclusive)
                    .Select(i => new object?[] { i.ToString(), i.Type.Name, owner.Value }).ToArray(), cancellationToken).ConfigureAwait(false);
                if (index > 0)
                {
                    await sql.MoveObservationsAsync(component.Observations, owner, cancellationToken).ConfigureAwait(false);
                }
            }
            if (components.Count == 0)
            {
                // Nothing is left of the person: its id (and its aliases) resolve to nothing from now on.
                await sql.MarkGoneAsync(person, cancellationToken).ConfigureAwait(false);
            }
            events.Add(await sql.InsertEventAsync(GraphEventKind.Retracted, person, [], observation, [], null, now, cancellationToken).ConfigureAwait(false));
            if (components.Count > 1)
            {
                events.Add(await sql.InsertEventAsync(GraphEventKind.Split, person, persons.Skip(1).ToArray(), observation, [], null, now, cancellationToken).ConfigureAwait(false));
            }
            return new RetractResult(observation, persons, events);
        }, cancellationToken);

    public async Task<Person?> FindAsync(Identifier identifier, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        PersonId? person;
        if (identifier.IsExclusive)
        {
            person = await sql.FindExclusiveAsync(identifier.ToString(), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var holders = await sql.FindWeakAsync(identifier.ToString(), cancellationToken).ConfigureAwait(false);
            if (holders.Count > 1)
            {
                throw new AmbiguousIdentifierException(identifier, holders);
            }
            person = holders.Count == 1 ? holders[0] : null;
        }
        return person is { } p ? await LoadPersonAsync(sql, p, cancellationToken).ConfigureAwait(false) : null;
    }

    public async Task<Person?> GetAsync(PersonId id, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.CurrentIdAsync(id, cancellationToken).ConfigureAwait(false) is { } current
            ? await LoadPersonAsync(sql, current, cancellationToken).ConfigureAwait(false)
            : null;
    }

    private static Task<Person> LoadPersonAsync(GraphCommands sql, PersonId id, CancellationToken ct) => sql.LoadPersonAsync(id, ct);

    public async Task<IReadOnlyList<ObservationRecord>> GetObservationsAsync(PersonId id, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.CurrentIdAsync(id, cancellationToken).ConfigureAwait(false) is { } current
            ? await sql.ObservationsOfAsync(current, onlyAccepted: false, cancellationToken).ConfigureAwait(false)
            : [];
    }

    public async Task<IReadOnlyList<GraphEvent>> GetHistoryAsync(PersonId id, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        if (await sql.CurrentIdAsync(id, cancellationToken).ConfigureAwait(false) is not { } current)
        {
            return [];
        }
        var ids = (await sql.AliasesOfAsync(current, cancellationToken).ConfigureAwait(false)).Append(current).ToArray();
        return await sql.EventsOfAsync(ids, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<GraphEvent>> ReadEventsAsync(long afterSequence, int max, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.EventsAfterAsync(afterSequence, Math.Clamp(max, 1, 10_000), cancellationToken).ConfigureAwait(false);
    }

    public async Task<GraphStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var sql = new GraphCommands(connection, null);
        return await sql.StatsAsync(cancellationToken).ConfigureAwait(false);
    }

    private sealed record VersionAt(long DataVersion, GraphVersion Version);

    private volatile VersionAt? _lastVersion;

    public async Task<GraphVersion> GetVersionAsync(CancellationToken cancellationToken)
    {
        // SQLite: while no connection has committed since the last read (PRAGMA data_version on one watching
        // connection says so, in this process or any other), the version read then still holds. A commit that lands
        // between the two reads only makes the next call read again.
        long? dataVersion = _db is SqliteDatabase sqlite ? sqlite.DataVersion() : null;
        if (dataVersion is { } dv && _lastVersion is { } last && last.DataVersion == dv)
        {
            return last.Version;
        }
        var version = await ReadVersionAsync(cancellationToken).ConfigureAwait(false);
        if (dataVersion is { } seen)
        {
            _lastVersion = new VersionAt(seen, version);
        }
        return version;
    }

    private async Task<GraphVersion> ReadVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COALESCE((SELECT MAX(id) FROM observations), 0), COALESCE((SELECT MAX(seq) FROM events), 0)";
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new GraphVersion(reader.GetInt64(0), reader.GetInt64(1));
    }

    public Task<bool> EraseProfileAsync(PersonId id, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx) =>
        {
            await using var sql = new GraphCommands(connection, tx);
            if (await sql.CurrentIdAsync(id, cancellationToken).ConfigureAwait(false) is not { } current)
            {
                return false;
            }
            // Private data lives in observations' profiles and in phone identifiers (docs/wechat-api.md §11.1: phone is private).
            await sql.EraseAsync(current, cancellationToken).ConfigureAwait(false);
            await sql.InsertEventAsync(GraphEventKind.Erased, current, [], null, [], null, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_ownsDatabase)
        {
            await _db.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static string JoinIds(IEnumerable<Identifier> ids) => string.Join('\n', ids.Select(i => i.ToString()));

    internal static IReadOnlyList<Identifier> SplitIds(string? text) =>
        string.IsNullOrEmpty(text) ? [] : text.Split('\n').Select(Identifier.FromStored).ToArray();

    internal static string? ProfileJson(IReadOnlyList<ProfileAttribute> profile) =>
        profile.Count == 0 ? null : JsonSerializer.Serialize(profile.Select(a => new StoredAttribute(a.Name, a.Value, (int)a.Tier)), StoreJson.Default.IEnumerableStoredAttribute);

    internal static IReadOnlyList<ProfileAttribute> ParseProfile(string? json) =>
        string.IsNullOrEmpty(json)
            ? []
            : JsonSerializer.Deserialize(json, StoreJson.Default.StoredAttributeArray)!.Select(a => new ProfileAttribute(a.N, a.V, (DataTier)a.T)).ToArray();

    internal static string Invariant(long n) => n.ToString(CultureInfo.InvariantCulture);
}

internal sealed record StoredAttribute(string N, string V, int T);

[System.Text.Json.Serialization.JsonSerializable(typeof(IEnumerable<StoredAttribute>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(StoredAttribute[]))]
internal sealed partial class StoreJson : System.Text.Json.Serialization.JsonSerializerContext;
