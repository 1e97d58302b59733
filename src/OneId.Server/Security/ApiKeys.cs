using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using OneId.Graph;
using OneId.Storage.Hub;
using OneId.Server.Tenants;

namespace OneId.Server.Security;

/// <summary>What a key may do besides reading what its tiers allow. Ordered: each permission includes the ones before it.</summary>
public enum KeyPermission
{
    /// <summary>Resolve and read persons, within the key's tiers.</summary>
    Read,
    /// <summary>Also add observations (POST /v1/observations); not retract, erase or manage keys.</summary>
    Write,
    /// <summary>Everything: retract, erase, backfill, create, list and revoke keys.</summary>
    Admin,
}

/// <summary>Who is calling: one tenant, the data tiers the key may see, and what it may change.</summary>
public sealed record Caller(string Tenant, IReadOnlySet<DataTier> Tiers, bool IsAdmin)
{
    /// <summary>Names the key in lists, revocations and the audit log without revealing it: the first 12 hex digits of its SHA-256.</summary>
    public string KeyId { get; init; } = "";

    public KeyPermission Permission { get; init; } = IsAdmin ? KeyPermission.Admin : KeyPermission.Read;

    /// <summary>May add observations (POST /v1/observations).</summary>
    public bool MayWrite => Permission >= KeyPermission.Write;

    /// <summary>Signed in through the console's session cookie rather than the key header.</summary>
    public bool ViaConsole { get; init; }

    public bool May(DataTier tier) => Tiers.Contains(tier);

    public bool MaySee(Identifier id) => May(id.Tier);
}

/// <summary>A key as listed: never the key, never its hash.</summary>
public sealed record ApiKeyInfo(string Id, string? Name, IReadOnlyList<string> Tiers, IReadOnlyList<string> Permissions, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt)
{
    internal static ApiKeyInfo From(StoredApiKey k) => new(k.Id, k.Name, k.Tiers.Order().Select(OneId.Server.Configuration.Tiers.Name).ToArray(),
        ApiKeys.PermissionNames(ApiKeys.ParsePermission(k.Permission)), k.CreatedAt, k.LastUsedAt);
}

/// <summary>
/// API keys: <c>oneid.{tenant}.{secret}</c>, stored as SHA-256 hashes only. The tenant in the key says where to look;
/// keys without that shape (a bootstrap key chosen by the operator) are looked up in every tenant. Every request looks
/// its key up in the tenant's store, which answers from memory only while nothing was committed since (see
/// IApiKeyStore.FindApiKeyAsync), so a revocation on another hub instance holds at once.
/// </summary>
public sealed class ApiKeys(TenantRegistry tenants, TimeProvider time)
{
    // last_used_at is a write; one per key per minute per instance is plenty for "when was this key last used".
    private static readonly TimeSpan TouchEvery = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _touched = new(StringComparer.Ordinal);

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The id of a key: the first 12 hex digits of its hash.</summary>
    public static string IdOf(string key) => Hash(key)[..12];

    public static KeyPermission ParsePermission(string? name) => name switch
    {
        "admin" => KeyPermission.Admin,
        "write" => KeyPermission.Write,
        _ => KeyPermission.Read,
    };

    public static bool TryParsePermission(string? name, out KeyPermission permission)
    {
        permission = ParsePermission(name);
        return name is "read" or "write" or "admin";
    }

    public static string NameOf(KeyPermission permission) => permission.ToString().ToLowerInvariant();

    /// <summary>The permissions a key holds, spelled out: admin includes write, write includes read.</summary>
    public static IReadOnlyList<string> PermissionNames(KeyPermission permission) =>
        Enum.GetValues<KeyPermission>().Where(p => p <= permission).Select(NameOf).ToArray();

    /// <summary>Creates a key and returns it (the only time it is seen; only its hash is stored).</summary>
    public async Task<string> CreateAsync(HubTenant tenant, IEnumerable<DataTier> tiers, bool admin, CancellationToken cancellationToken) =>
        (await CreateKeyAsync(tenant, null, tiers, admin ? KeyPermission.Admin : KeyPermission.Read, cancellationToken).ConfigureAwait(false)).Key;

    /// <summary>Creates a key; returns it (the only time it is seen) and its id.</summary>
    public async Task<(string Key, string Id)> CreateKeyAsync(HubTenant tenant, string? name, IEnumerable<DataTier> tiers, KeyPermission permission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var key = $"oneid.{tenant.Name}.{Base64Url(RandomNumberGenerator.GetBytes(24))}";
        await tenant.ApiKeys.AddApiKeyAsync(Hash(key), name, tiers, NameOf(permission), cancellationToken).ConfigureAwait(false);
        return (key, IdOf(key));
    }

    /// <summary>Stores a key the operator chose (ONEID_BOOTSTRAP_KEY); idempotent.</summary>
    public Task ImportAsync(HubTenant tenant, string key, IEnumerable<DataTier> tiers, bool admin, CancellationToken cancellationToken) =>
        tenant.ApiKeys.AddApiKeyAsync(Hash(key), "bootstrap", tiers, admin ? "admin" : "read", cancellationToken);

    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(HubTenant tenant, CancellationToken cancellationToken) =>
        (await tenant.ApiKeys.ListApiKeysAsync(cancellationToken).ConfigureAwait(false)).Select(ApiKeyInfo.From).ToArray();

    /// <summary>Revokes a key of <paramref name="tenant"/> by id, at once for every hub instance; false when unknown.</summary>
    public Task<bool> RevokeAsync(HubTenant tenant, string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return id.Length == 12 && id.All(char.IsAsciiHexDigitLower) ? tenant.ApiKeys.RevokeApiKeyAsync(id, cancellationToken) : Task.FromResult(false);
    }

    public async Task<Caller?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Length > 512)
        {
            return null;
        }
        var hash = Hash(key);
        var parts = key.Split('.');
        var candidates = parts.Length == 3 && parts[0] == "oneid" && tenants.Get(parts[1]) is { } named ? [named] : tenants.All;
        foreach (var tenant in candidates)
        {
            if (await tenant.ApiKeys.FindApiKeyAsync(hash, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                await TouchAsync(tenant, hash, cancellationToken).ConfigureAwait(false);
                var permission = ParsePermission(stored.Permission);
                return new Caller(tenant.Name, stored.Tiers, permission == KeyPermission.Admin) { KeyId = hash[..12], Permission = permission };
            }
        }
        return null;
    }

    private async Task TouchAsync(HubTenant tenant, string hash, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_touched.TryGetValue(hash, out var last) && now - last < TouchEvery)
        {
            return;
        }
        _touched[hash] = now;
        await tenant.ApiKeys.TouchApiKeyAsync(hash, now, cancellationToken).ConfigureAwait(false);
    }

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
