using OneId.Graph;
using OneId.Storage.Audit;
using OneId.Storage.Graph;
using OneId.Storage.Relationships;

namespace OneId.Storage.Hub;

/// <summary>
/// Everything one tenant keeps: its graph and the hub's own rows, in the tenant's own SQLite file or PostgreSQL schema.
/// The hub sees ports only (<see cref="IGraphStore"/>, <see cref="ILoginSessionStore"/>, …), never SQL.
/// </summary>
public sealed class TenantStorage : IAsyncDisposable
{
    private readonly StoreDatabase _db;
    private readonly SqlHubStore _hub;

    private TenantStorage(StoreDatabase db, IGraphStore graph, SqlHubStore hub, IOperatorAuditLog audit, IRelationshipStore relationships)
    {
        _db = db;
        Graph = graph;
        Relationships = relationships;
        _hub = hub;
        Audit = audit;
    }

    /// <summary>Opens (and migrates) tenant <paramref name="tenant"/> of <paramref name="database"/>: a SQLite file or a PostgreSQL connection string.</summary>
    public static async Task<TenantStorage> OpenAsync(string database, string tenant, TimeProvider time, CancellationToken cancellationToken)
    {
        var db = StoreDatabase.Open(database, tenant);
        try
        {
            var graph = await SqlGraphStore.OpenAsync(db, cancellationToken, time).ConfigureAwait(false);
            var hub = await SqlHubStore.OpenAsync(db, time, cancellationToken).ConfigureAwait(false);
            // Login sessions are committed with their login's observation.
            graph.AddAttachmentWriter(hub);
            var audit = await SqlAuditLog.OpenAsync(db, cancellationToken).ConfigureAwait(false);
            var relationships = await SqlRelationshipStore.OpenAsync(db, time, cancellationToken).ConfigureAwait(false);
            return new TenantStorage(db, graph, hub, audit, relationships);
        }
        catch
        {
            await db.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Where the data is, for messages (never includes a password).</summary>
    public string Description => _db.Description;

    public IGraphStore Graph { get; }

    /// <summary>Follows, WeCom contacts and channels (docs/model.md §3.10), keyed by identifier beside the graph.</summary>
    public IRelationshipStore Relationships { get; }
    public IOperatorAuditLog Audit { get; }
    public IApiKeyStore ApiKeys => _hub;
    public ILoginSessionStore Sessions => _hub;
    public IOAuthStateStore OAuthStates => _hub;
    public ICallbackDedupe CallbackDedupe => _hub;
    public ICallbackNonces CallbackNonces => _hub;
    public IWebhookCursorStore WebhookCursors => _hub;
    public IPendingIdStore PendingIds => _hub;
    public ICheckpointStore Checkpoints => _hub;
    public IComponentStateStore ComponentState => _hub;
    public IPushInbox Inbox => _hub;
    public IJobStore Jobs => _hub;

    public async ValueTask DisposeAsync()
    {
        await Graph.DisposeAsync().ConfigureAwait(false);
        await _db.DisposeAsync().ConfigureAwait(false);
    }
}
