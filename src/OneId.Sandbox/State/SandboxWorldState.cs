using System.Collections.Concurrent;
using OneId.Sandbox.World;

namespace OneId.Sandbox.State;

/// <summary>A corp app with its corp, as the WeCom endpoints see it.</summary>
internal sealed record CorpAppRef(SandboxCorp Corp, SandboxCorpApp App)
{
    public string Key => Corp.Corpid.ToUpperInvariant() + "/" + App.Name;
    public bool IsProvider => App.Kind == CorpAppKinds.Provider;

    /// <summary>Pending ids are unique within an app (§6.6); provider apps of one provider share them per corp.</summary>
    public string PendingKey => IsProvider ? "provider:" + App.Provider : "app:" + App.Name;

    public string SuiteId => App.SuiteId ?? IdDeriver.SuiteId(App.Provider ?? "", App.Name);
}

/// <summary>
/// Everything that lives as long as one world: the world and its indexes, users, tokens, codes, quotas, pending
/// ids and tickets. <c>PUT /_sandbox/world</c> replaces the whole thing; the clock, faults and call log survive.
/// </summary>
internal sealed class SandboxWorldState
{
    public SandboxWorldState(SandboxWorld world, SandboxClock clock, SandboxLimits limits)
    {
        // Derived ids are written into the world, so GET /_sandbox/world shows what pushes and APIs use.
        foreach (var app in world.Apps.Where(a => a.Type == AppTypes.OfficialAccount && a.OriginalId is null))
        {
            app.OriginalId = IdDeriver.OriginalId(app.Appid);
        }
        foreach (var app in world.Corps.SelectMany(c => c.Apps).Where(a => a.Kind == CorpAppKinds.Provider && a.SuiteId is null))
        {
            app.SuiteId = IdDeriver.SuiteId(app.Provider ?? "", app.Name);
        }
        World = world;
        Clock = clock;
        Limits = limits;
        Quotas = new QuotaBook(clock);
        Tokens = new TokenAuthority(clock, Quotas, limits);
        Codes = new CodeBook(clock);
        Users = new SandboxUsers(clock);
        Apps = world.Apps.ToDictionary(a => a.Appid, StringComparer.Ordinal);
        Spaces = world.UnionSpaces.ToDictionary(s => s.Id, StringComparer.Ordinal);
        // Plain corpids are case-insensitive (§6.14).
        Corps = world.Corps.ToDictionary(c => c.Corpid, StringComparer.OrdinalIgnoreCase);
        Components = world.Components.ToDictionary(c => c.ComponentAppid, StringComparer.Ordinal);
        foreach (var seed in world.Users)
        {
            Users.TryAdd(seed.Name, seed.Nickname, seed.Phone, out var user);
            foreach (var appid in seed.Follows)
            {
                Users.SetFollow(user, appid, true, "ADD_SCENE_SEARCH");
            }
        }
    }

    public SandboxWorld World { get; }
    public SandboxClock Clock { get; }
    public SandboxLimits Limits { get; }
    public QuotaBook Quotas { get; }
    public TokenAuthority Tokens { get; }
    public CodeBook Codes { get; }
    public SandboxUsers Users { get; }
    public IReadOnlyDictionary<string, SandboxApp> Apps { get; }
    public IReadOnlyDictionary<string, UnionSpace> Spaces { get; }
    public IReadOnlyDictionary<string, SandboxCorp> Corps { get; }
    public IReadOnlyDictionary<string, SandboxComponent> Components { get; }

    /// <summary>
    /// pending ids handed out: (corp, app key, user) → the current one. A pending_id lives 90 days; asking again
    /// after that issues a new one (the next generation), so a person's pending_id can be replaced.
    /// </summary>
    public ConcurrentDictionary<(string Corp, string AppKey, string User), PendingGrant> PendingIds { get; } = new();

    /// <summary>Customers of each member: (upper corpid, member userid) → user names in add order.</summary>
    public ConcurrentDictionary<(string Corp, string Member), MemberCustomers> CustomersByMember { get; } = new();

    /// <summary>Parametric QR codes made by qrcode/create, by ticket.</summary>
    public ConcurrentDictionary<string, QrCode> QrCodes { get; } = new(StringComparer.Ordinal);

    /// <summary>Permanent QR codes made per OA (at most 100,000).</summary>
    public ConcurrentDictionary<string, int> PermanentQrCodes { get; } = new(StringComparer.Ordinal);

    /// <summary>"Contact me" configurations made by externalcontact/add_contact_way, by config_id.</summary>
    public ConcurrentDictionary<string, ContactWay> ContactWays { get; } = new(StringComparer.Ordinal);

    /// <summary>OA account migrations (帐号迁移), by the new appid then the old one.</summary>
    public ConcurrentDictionary<(string To, string From), AccountMigration> Migrations { get; } = new();

    /// <summary>Authorizations per (component, authorizer): each re-authorization issues a new refresh token.</summary>
    public ConcurrentDictionary<(string Component, string Authorizer), int> AuthorizationGenerations { get; } = new();

    /// <summary>Migration state of WeCom's provider id upgrade per (upper corpid, provider).</summary>
    public ConcurrentDictionary<(string Corp, string Provider), ProviderView> ProviderViews { get; } = new();

    private readonly ConcurrentDictionary<(string Corp, string Provider), IReadOnlyDictionary<string, string>> _membersByOpenUserId = new();

    /// <summary>component_verify_ticket values issued per component, with issue time (valid 12 h, §5.1).</summary>
    public ConcurrentDictionary<string, DateTimeOffset> Tickets { get; } = new(StringComparer.Ordinal);

    /// <summary>suite_ticket values issued: ticket → (suite_id, issue time); valid 30 minutes.</summary>
    public ConcurrentDictionary<string, (string SuiteId, DateTimeOffset IssuedAt)> SuiteTickets { get; } = new(StringComparer.Ordinal);

    /// <summary>Provider apps grouped by suite_id (one suite can be installed in many corps).</summary>
    public IEnumerable<CorpAppRef> SuiteApps(string suiteId) =>
        World.Corps.SelectMany(c => c.Apps.Where(a => a.Kind == CorpAppKinds.Provider).Select(a => new CorpAppRef(c, a))).Where(r => r.SuiteId == suiteId);

    /// <summary>The latest component_verify_ticket per component.</summary>
    public ConcurrentDictionary<string, string> LatestTickets { get; } = new(StringComparer.Ordinal);

    /// <summary>Authorizations changed by the control API: true authorized, false revoked (61023 afterwards).</summary>
    public ConcurrentDictionary<(string Component, string Authorizer), bool> Authorizations { get; } = new();

    public string OpenIdOf(string appid, string user)
    {
        var id = IdDeriver.OpenId(appid, user);
        Users.Remember("openid:" + appid, id, user);
        return id;
    }

    /// <summary>The unionid of a user for an app, or null when the app is not bound to an Open Platform account.</summary>
    public string? UnionIdOf(SandboxApp app, string user) => app.UnionSpace is null ? null : UnionIdInSpace(app.UnionSpace, user);

    public string UnionIdInSpace(string space, string user)
    {
        var id = IdDeriver.UnionId(space, user);
        Users.Remember("unionid:" + space, id, user);
        return id;
    }

    /// <summary>
    /// external_userid as the given corp app sees it: plaintext for a self-built app; for a provider app the new
    /// ciphertext id once the provider's ids are upgraded, the old one before (WeCom's id upgrade for providers).
    /// </summary>
    public string ExternalUserIdOf(CorpAppRef app, string user) => !app.IsProvider
        ? PlainExternalUserId(app.Corp, user)
        : ViewOf(app).ExternalUpgraded
            ? ProviderExternalUserId(app.Corp, app.App.Provider!, user)
            : LegacyProviderExternalUserId(app.Corp, app.App.Provider!, user);

    public string LegacyProviderExternalUserId(SandboxCorp corp, string provider, string user)
    {
        var id = IdDeriver.LegacyProviderExternalUserId(corp.Corpid, provider, user);
        Users.Remember("external-legacy:" + corp.Corpid.ToUpperInvariant() + "/" + provider, id, user);
        return id;
    }

    public string? UserByLegacyExternalUserId(SandboxCorp corp, string provider, string externalUserId) =>
        Users.Resolve("external-legacy:" + corp.Corpid.ToUpperInvariant() + "/" + provider, externalUserId,
            u => IdDeriver.LegacyProviderExternalUserId(corp.Corpid, provider, u));

    public string? UserByUpgradedExternalUserId(SandboxCorp corp, string provider, string externalUserId) =>
        Users.Resolve("external:" + corp.Corpid.ToUpperInvariant() + "/" + provider, externalUserId,
            u => IdDeriver.ProviderExternalUserId(corp.Corpid, provider, u));

    /// <summary>The migration state of a provider app's corp (its world id_mode until the switches change it).</summary>
    public ProviderView ViewOf(CorpAppRef app) => ProviderViews.GetOrAdd((app.Corp.Corpid.ToUpperInvariant(), app.App.Provider ?? ""), _ =>
    {
        var legacy = app.Corp.Apps.Exists(a => a.Kind == CorpAppKinds.Provider && a.Provider == app.App.Provider && a.IdMode == ProviderIdModes.Legacy);
        return new ProviderView(!legacy);
    });

    /// <summary>The corpid a corp app sees: plain for self-built apps, the provider-level open corpid once upgraded.</summary>
    public string CorpIdSeenBy(CorpAppRef app) =>
        app.IsProvider && ViewOf(app).OpenIdsUpgraded ? IdDeriver.OpenCorpId(app.Corp.Corpid, app.App.Provider!) : app.Corp.Corpid;

    /// <summary>A member's userid as a corp app sees it: plain, or the provider-level open_userid once upgraded.</summary>
    public string MemberIdSeenBy(CorpAppRef app, string member) =>
        app.IsProvider && ViewOf(app).OpenIdsUpgraded ? IdDeriver.OpenUserId(app.Corp.Corpid, app.App.Provider!, member) : member;

    /// <summary>The member behind a userid as the app sees it, or null.</summary>
    public string? MemberFromView(CorpAppRef app, string id)
    {
        if (!app.IsProvider || !ViewOf(app).OpenIdsUpgraded)
        {
            return app.Corp.Members.Contains(id) ? id : null;
        }
        var map = _membersByOpenUserId.GetOrAdd((app.Corp.Corpid.ToUpperInvariant(), app.App.Provider!), _ =>
            app.Corp.Members.ToDictionary(m => IdDeriver.OpenUserId(app.Corp.Corpid, app.App.Provider!, m), m => m, StringComparer.Ordinal));
        return map.GetValueOrDefault(id);
    }

    /// <summary>The provider's own corpid and secret (world <c>providers</c>, else derived).</summary>
    public (string Corpid, string Secret) ProviderCredentials(string provider)
    {
        var declared = World.Providers.Find(p => p.Id == provider);
        return (declared?.Corpid ?? IdDeriver.ProviderCorpId(provider), declared?.Secret ?? "secret-" + provider);
    }

    /// <summary>Every provider named by a provider app of the world.</summary>
    public IEnumerable<string> ProviderIds() =>
        World.Corps.SelectMany(c => c.Apps).Where(a => a.Kind == CorpAppKinds.Provider && a.Provider is not null).Select(a => a.Provider!)
            .Concat(World.Providers.Select(p => p.Id)).Distinct(StringComparer.Ordinal);

    /// <summary>Corps where the provider has an app.</summary>
    public IEnumerable<CorpAppRef> ProviderApps(string provider) =>
        World.Corps.SelectMany(c => c.Apps.Where(a => a.Kind == CorpAppKinds.Provider && a.Provider == provider).Select(a => new CorpAppRef(c, a)));

    /// <summary>The current pending_id of a user for an app, when one was issued and has not expired.</summary>
    public string? LivePendingId(CorpAppRef app, string user)
    {
        var key = (app.Corp.Corpid.ToUpperInvariant(), app.PendingKey, user);
        return PendingIds.TryGetValue(key, out var grant) && Clock.GetUtcNow() - grant.IssuedAt <= PendingGrant.Lifetime
            ? IdDeriver.PendingId(app.Corp.Corpid, app.PendingKey, user, grant.Generation)
            : null;
    }

    /// <summary>The customers of a member (created on first use).</summary>
    public MemberCustomers CustomersOf(SandboxCorp corp, string member) =>
        CustomersByMember.GetOrAdd((corp.Corpid.ToUpperInvariant(), member), _ => new MemberCustomers());

    public string PlainExternalUserId(SandboxCorp corp, string user)
    {
        var id = IdDeriver.PlainExternalUserId(corp.Corpid, user);
        Users.Remember("external:" + corp.Corpid.ToUpperInvariant(), id, user);
        return id;
    }

    public string ProviderExternalUserId(SandboxCorp corp, string provider, string user)
    {
        var id = IdDeriver.ProviderExternalUserId(corp.Corpid, provider, user);
        Users.Remember("external:" + corp.Corpid.ToUpperInvariant() + "/" + provider, id, user);
        return id;
    }

    public string? UserByOpenId(string appid, string openid) =>
        Users.Resolve("openid:" + appid, openid, u => IdDeriver.OpenId(appid, u));

    public string? UserByUnionId(string space, string unionid) =>
        Users.Resolve("unionid:" + space, unionid, u => IdDeriver.UnionId(space, u));

    /// <summary>The user behind an external_userid the app may use: the id of its current view only.</summary>
    public string? UserByExternalUserId(CorpAppRef app, string externalUserId) => !app.IsProvider
        ? Users.Resolve("external:" + app.Corp.Corpid.ToUpperInvariant(), externalUserId, u => IdDeriver.PlainExternalUserId(app.Corp.Corpid, u))
        : ViewOf(app).ExternalUpgraded
            ? UserByUpgradedExternalUserId(app.Corp, app.App.Provider!, externalUserId)
            : UserByLegacyExternalUserId(app.Corp, app.App.Provider!, externalUserId);

    /// <summary>The corp app a secret belongs to.</summary>
    public CorpAppRef? CorpAppBySecret(SandboxCorp corp, string secret)
    {
        var app = corp.Apps.Find(a => a.Secret == secret);
        return app is null ? null : new CorpAppRef(corp, app);
    }

    public CorpAppRef? CorpAppByKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !Corps.TryGetValue(key[..slash], out var corp))
        {
            return null;
        }
        var app = corp.Apps.Find(a => a.Name == key[(slash + 1)..]);
        return app is null ? null : new CorpAppRef(corp, app);
    }

    /// <summary>Is the user a customer of any member of the corp?</summary>
    public static bool IsCustomer(SandboxUser user, SandboxCorp corp)
    {
        lock (user.Gate)
        {
            return user.Contacts.TryGetValue(corp.Corpid.ToUpperInvariant(), out var byMember) && byMember.Count > 0;
        }
    }
}

/// <summary>A pending_id issue: when, and which generation (a new value after each 90-day expiry).</summary>
internal sealed record PendingGrant(DateTimeOffset IssuedAt, int Generation)
{
    /// <summary>pending_id lives 90 days.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);
}

/// <summary>A parametric QR code of an OA (qrcode/create).</summary>
internal sealed record QrCode(string Ticket, string Appid, long SceneId, string? SceneStr, bool Permanent, DateTimeOffset? ExpiresAt)
{
    /// <summary>The scene as EventKey carries it: the string scene, or the number.</summary>
    public string Scene => SceneStr ?? SceneId.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A WeCom "contact me" configuration (externalcontact/add_contact_way).</summary>
internal sealed record ContactWay(string ConfigId, string Corpid, int Type, int Scene, string? State, IReadOnlyList<string> Members,
    bool SkipVerify, string? Remark, string? QrCode, string CreatedBy)
{
    private int _next;

    /// <summary>The member a scan reaches: the only one, or round robin over a multi-member way.</summary>
    public string NextMember() => Members[(Interlocked.Increment(ref _next) - 1) % Members.Count];
}

/// <summary>An OA account migration: the old account's followers moved to the new one at <see cref="At"/>.</summary>
internal sealed record AccountMigration(string FromAppid, string ToAppid, DateTimeOffset At, IReadOnlySet<string> Users)
{
    /// <summary>changeopenid works for 15 days after the migration.</summary>
    public static readonly TimeSpan ChangeOpenIdWindow = TimeSpan.FromDays(15);
}

/// <summary>How far a corp's provider ids are upgraded (switches of WeCom's id upgrade).</summary>
internal sealed class ProviderView(bool upgraded)
{
    /// <summary>The corp admin agreed to the upgrade (agree_external_userid_migration); always true for upgraded corps.</summary>
    public bool Agreed { get; set; } = upgraded;

    /// <summary>APIs and pushes carry the new external_userids.</summary>
    public bool ExternalUpgraded { get; set; } = upgraded;

    /// <summary>APIs and pushes carry the open corpid and open_userids.</summary>
    public bool OpenIdsUpgraded { get; set; } = upgraded;
}
