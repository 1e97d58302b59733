using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using OneId.Graph;
using OneId.Server.Tenants;

namespace OneId.Server.Security;

/// <summary>Who is calling: one tenant, the data tiers the key may see, and whether it may change the graph.</summary>
public sealed record Caller(string Tenant, IReadOnlySet<DataTier> Tiers, bool IsAdmin)
{
    /// <summary>Names the key in the audit log without revealing it: the first 12 hex digits of its SHA-256.</summary>
    public string KeyId { get; init; } = "";

    /// <summary>Signed in through the console's session cookie rather than the key header.</summary>
    public bool ViaConsole { get; init; }

    /// <summary>May add observations (POST /v1/observations).</summary>
    public bool MayWrite => IsAdmin;

    public bool May(DataTier tier) => Tiers.Contains(tier);

    public bool MaySee(Identifier id) => May(id.Tier);
}

/// <summary>
/// API keys: <c>oneid.{tenant}.{secret}</c>, stored as SHA-256 hashes only. The tenant in the key says where to look;
/// keys without that shape (a bootstrap key chosen by the operator) are looked up in every tenant.
/// </summary>
public sealed class ApiKeys(TenantRegistry tenants, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (Caller Caller, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public async Task<string> CreateAsync(HubTenant tenant, IEnumerable<DataTier> tiers, bool admin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var key = $"oneid.{tenant.Name}.{Base64Url(RandomNumberGenerator.GetBytes(24))}";
        await tenant.ApiKeys.AddApiKeyAsync(Hash(key), tiers, admin, cancellationToken).ConfigureAwait(false);
        return key;
    }

    /// <summary>Stores a key the operator chose (ONEID_BOOTSTRAP_KEY); idempotent.</summary>
    public Task ImportAsync(HubTenant tenant, string key, IEnumerable<DataTier> tiers, bool admin, CancellationToken cancellationToken) =>
        tenant.ApiKeys.AddApiKeyAsync(Hash(key), tiers, admin, cancellationToken);

    public async Task<Caller?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Length > 512)
        {
            return null;
        }
        var hash = Hash(key);
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(hash, out var hit) && hit.Until > now)
        {
            return hit.Caller;
        }
        var parts = key.Split('.');
        var candidates = parts.Length == 3 && parts[0] == "oneid" && tenants.Get(parts[1]) is { } named ? [named] : tenants.All;
        foreach (var tenant in candidates)
        {
            if (await tenant.ApiKeys.FindApiKeyAsync(hash, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                var caller = new Caller(tenant.Name, stored.Tiers, stored.Admin) { KeyId = hash[..12] };
                _cache[hash] = (caller, now + CacheFor);
                return caller;
            }
        }
        return null;
    }

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
