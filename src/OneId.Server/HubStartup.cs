using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OneId.Graph;
using OneId.Server.Configuration;
using OneId.Server.Security;
using OneId.Server.Tenants;

namespace OneId.Server;

/// <summary>Opens every tenant's database (migrating it) before the server takes requests, and imports the bootstrap key.</summary>
internal sealed partial class HubStartup(TenantRegistry tenants, ApiKeys keys, IOptions<HubOptions> options, ILogger<HubStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await tenants.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var o = options.Value;
        if (o.BootstrapKey is { Length: > 0 } key)
        {
            var tenant = tenants.Get(o.BootstrapTenant is { Length: > 0 } bt ? bt : o.Tenants[0].Name)!;
            await keys.ImportAsync(tenant, key, [DataTier.Public, DataTier.Internal, DataTier.Private], admin: true, cancellationToken).ConfigureAwait(false);
            // Log a short hash only: the key itself is a secret.
            LogBootstrapKey(logger, tenant.Name, ApiKeys.Hash(key)[..8]);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Bootstrap admin key (sha256 {KeyHash}…) is ready for tenant {Tenant}")]
    private static partial void LogBootstrapKey(ILogger logger, string tenant, string keyHash);
}
