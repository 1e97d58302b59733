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

    /// <summary>pending ids handed out: (corp, app key, user) → issue time (§6.6: valid 90 days).</summary>
    public ConcurrentDictionary<(string Corp, string AppKey, string User), DateTimeOffset> PendingIds { get; } = new();

    /// <summary>Customers of each member: (upper corpid, member userid) → user names in add order.</summary>
    public ConcurrentDictionary<(string Corp, string Member), List<string>> CustomersByMember { get; } = new();

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

    /// <summary>external_userid as the given corp app sees it (§6.14).</summary>
    public string ExternalUserIdOf(CorpAppRef app, string user) => app.IsProvider
        ? ProviderExternalUserId(app.Corp, app.App.Provider!, user)
        : PlainExternalUserId(app.Corp, user);

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

    public string? UserByExternalUserId(CorpAppRef app, string externalUserId) => app.IsProvider
        ? Users.Resolve("external:" + app.Corp.Corpid.ToUpperInvariant() + "/" + app.App.Provider, externalUserId,
            u => IdDeriver.ProviderExternalUserId(app.Corp.Corpid, app.App.Provider!, u))
        : Users.Resolve("external:" + app.Corp.Corpid.ToUpperInvariant(), externalUserId,
            u => IdDeriver.PlainExternalUserId(app.Corp.Corpid, u));

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
