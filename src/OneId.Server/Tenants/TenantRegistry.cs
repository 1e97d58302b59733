using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Storage.Hub;

namespace OneId.Server.Tenants;

/// <summary>One tenant at run time: its configuration, its graph and the hub's rows (ports), all in its own database file or schema.</summary>
public sealed class HubTenant(TenantOptions options, TenantStorage storage)
{
    public string Name => Options.Name;
    public TenantOptions Options { get; } = options;
    internal TenantStorage Storage { get; } = storage;
    public IGraphStore Graph => Storage.Graph;
    public IRelationshipStore Relationships => Storage.Relationships;
    public IApiKeyStore ApiKeys => Storage.ApiKeys;
    public ILoginSessionStore Sessions => Storage.Sessions;
    public IOAuthStateStore OAuthStates => Storage.OAuthStates;
    public ICallbackDedupe CallbackDedupe => Storage.CallbackDedupe;
    public ICallbackNonces CallbackNonces => Storage.CallbackNonces;
    public IWebhookCursorStore WebhookCursors => Storage.WebhookCursors;
    public IPendingIdStore PendingIds => Storage.PendingIds;
    public ICheckpointStore Checkpoints => Storage.Checkpoints;
    public IComponentStateStore ComponentState => Storage.ComponentState;
    public IPushInbox Inbox => Storage.Inbox;
    public IJobStore Jobs => Storage.Jobs;
    public OneId.Storage.Audit.IOperatorAuditLog Audit => Storage.Audit;

    public AppOptions? FindApp(string appId) => Options.Apps.FirstOrDefault(a => a.AppId == appId);
}

/// <summary>
/// Opens every tenant's database at start-up (applying migrations) and finds the tenant that owns an app, corp or
/// platform. Every request works inside exactly one tenant, so nothing can cross tenants.
/// </summary>
public sealed partial class TenantRegistry(IOptions<HubOptions> options, TimeProvider time, ILogger<TenantRegistry> logger) : IAsyncDisposable
{
    private readonly Dictionary<string, HubTenant> _tenants = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _ready;

    public IReadOnlyCollection<HubTenant> All => _ready ? _tenants.Values : throw new InvalidOperationException("tenants not opened yet");

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ready)
            {
                return;
            }
            foreach (var t in options.Value.Tenants)
            {
                var storage = await TenantStorage.OpenAsync(options.Value.Database, t.Name, time, cancellationToken).ConfigureAwait(false);
                _tenants[t.Name] = new HubTenant(t, storage);
                LogTenantOpened(logger, t.Name, storage.Description);
            }
            _ready = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public HubTenant? Get(string name) => _ready && _tenants.TryGetValue(name, out var t) ? t : null;

    public (HubTenant Tenant, AppOptions App)? FindApp(string appId)
    {
        foreach (var t in All)
        {
            if (t.FindApp(appId) is { } app)
            {
                return (t, app);
            }
        }
        return null;
    }

    public (HubTenant Tenant, CorpOptions Corp, CorpAppOptions App)? FindCorpApp(string corpId, string appName)
    {
        foreach (var t in All)
        {
            if (t.Options.Corps.FirstOrDefault(c => c.CorpId == corpId) is { } corp
                && corp.Apps.FirstOrDefault(a => a.Name == appName) is { } app)
            {
                return (t, corp, app);
            }
        }
        return null;
    }

    public (HubTenant Tenant, ComponentOptions Component)? FindComponent(string componentAppId)
    {
        foreach (var t in All)
        {
            if (t.Options.Components.FirstOrDefault(c => c.ComponentAppId == componentAppId) is { } c)
            {
                return (t, c);
            }
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var t in _tenants.Values)
        {
            await t.Storage.DisposeAsync().ConfigureAwait(false);
        }
        _tenants.Clear();
        _gate.Dispose();
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Tenant {Tenant} opened: {Database}")]
    private static partial void LogTenantOpened(ILogger logger, string tenant, string database);
}
