using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;

namespace OneId.Sandbox.State;

/// <summary>What a user did in one OA: follows now or not, and since when.</summary>
internal sealed record FollowState(bool Subscribed, long SubscribeTime, string Scene, string QrSceneStr = "", long QrScene = 0);

/// <summary>A payment made in an MP (§4.4).</summary>
internal sealed record Payment(string Appid, string TransactionId, string MchId, string OutTradeNo, DateTimeOffset PaidAt);

/// <summary>A WeCom member's relation to a customer.</summary>
internal sealed record ContactState(string Corpid, string MemberUserId, long CreateTime, string? State, int AddWay = 1);

/// <summary>
/// One person of the world. Generated users are materialized only when something happens to them, so 100k
/// generated users cost a batch record, not 100k objects.
/// </summary>
internal sealed class SandboxUser(string name, string nickname, string? phone, long ordinal)
{
    public Lock Gate { get; } = new();
    public string Name { get; } = name;
    public string Nickname { get; } = nickname;
    public string? Phone { get; set; } = phone;
    public long Ordinal { get; } = ordinal;

    /// <summary>Explicit follow state per OA; absent means the generation default.</summary>
    public Dictionary<string, FollowState> Follows { get; } = new(StringComparer.Ordinal);

    /// <summary>Apps the user authorized (snsapi_userinfo, website or app login): the legacy unionid rule needs them.</summary>
    public HashSet<string> AuthorizedApps { get; } = new(StringComparer.Ordinal);

    /// <summary>session_key per MP and when it was issued (§4.1).</summary>
    public Dictionary<string, (byte[] Key, DateTimeOffset IssuedAt)> SessionKeys { get; } = new(StringComparer.Ordinal);

    public List<Payment> Payments { get; } = [];

    /// <summary>WeCom relations, by upper-cased corpid then member userid.</summary>
    public Dictionary<string, Dictionary<string, ContactState>> Contacts { get; } = new(StringComparer.Ordinal);
}

/// <summary>A generate call: users <c>{Prefix}{i}</c> for i in [0, Count), who follow OAs with the given odds.</summary>
internal sealed record GeneratedBatch(string Prefix, int Count, long Seed, IReadOnlyDictionary<string, double> Follow, long CreatedAt, long FirstOrdinal);

/// <summary>
/// All users: named ones and generated batches, with the reverse index from ids back to users. Ids are derived
/// (one-way), so the index is filled for a namespace the first time an unknown id of it is asked for, and again
/// only after users were added.
/// </summary>
internal sealed class SandboxUsers(SandboxClock clock)
{
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, SandboxUser> _materialized = new(StringComparer.Ordinal);
    private readonly List<string> _namedOrder = [];
    private readonly HashSet<string> _named = new(StringComparer.Ordinal);
    private readonly List<GeneratedBatch> _batches = [];
    private readonly ConcurrentDictionary<(string Ns, string Id), string> _index = new();
    private readonly ConcurrentDictionary<string, IndexProgress> _indexProgress = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FollowerList> _followerCache = new(StringComparer.Ordinal);
    private long _followVersion;
    private long _ordinals;

    /// <summary>Number of users (named + generated).</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _namedOrder.Count + _batches.Sum(b => (long)b.Count);
            }
        }
    }

    /// <summary>Creates a named user; false when the name is taken.</summary>
    public bool TryAdd(string name, string? nickname, string? phone, out SandboxUser user)
    {
        lock (_gate)
        {
            if (Find(name) is { } existing)
            {
                user = existing;
                return false;
            }
            user = new SandboxUser(name, nickname ?? name, phone, _ordinals++);
            _materialized[name] = user;
            _named.Add(name);
            _namedOrder.Add(name);
            _followVersion++;
            return true;
        }
    }

    /// <summary>Adds a generated batch (fast: nothing per user is stored).</summary>
    public GeneratedBatch Generate(int count, long seed, IReadOnlyDictionary<string, double> follow)
    {
        lock (_gate)
        {
            var index = _batches.Count(b => b.Seed == seed);
            var prefix = index == 0 ? $"g{seed}-" : $"g{seed}.{index}-";
            var batch = new GeneratedBatch(prefix, count, seed, follow, clock.UnixSeconds(), _ordinals);
            _ordinals += count;
            _batches.Add(batch);
            _followVersion++;
            return batch;
        }
    }

    /// <summary>The user of that name, materializing a generated one; null when none.</summary>
    public SandboxUser? Find(string name)
    {
        if (_materialized.TryGetValue(name, out var user))
        {
            return user;
        }
        var (batch, i) = ParseGenerated(name);
        if (batch is null)
        {
            return null;
        }
        var created = new SandboxUser(name, name, PhoneOf(batch, i), batch.FirstOrdinal + i);
        lock (_gate)
        {
            return _materialized.GetOrAdd(name, created);
        }
    }

    /// <summary>Every user name in creation order.</summary>
    public IEnumerable<string> Names()
    {
        string[] named;
        GeneratedBatch[] batches;
        lock (_gate)
        {
            named = [.. _namedOrder];
            batches = [.. _batches];
        }
        foreach (var n in named)
        {
            yield return n;
        }
        foreach (var b in batches)
        {
            for (var i = 0; i < b.Count; i++)
            {
                yield return b.Prefix + i.ToString(CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>Named users only (the authorize page lists them).</summary>
    public IReadOnlyList<string> NamedUsers()
    {
        lock (_gate)
        {
            return [.. _namedOrder];
        }
    }

    /// <summary>Follow state of a user in an OA, including the generation default.</summary>
    public FollowState? FollowOf(string name, string appid)
    {
        if (_materialized.TryGetValue(name, out var user))
        {
            lock (user.Gate)
            {
                if (user.Follows.TryGetValue(appid, out var explicitState))
                {
                    return explicitState;
                }
            }
        }
        var (batch, i) = ParseGenerated(name);
        if (batch is not null && batch.Follow.TryGetValue(appid, out var odds)
            && IdDeriver.Fraction("follow", batch.Seed.ToString(CultureInfo.InvariantCulture), appid, i.ToString(CultureInfo.InvariantCulture)) < odds)
        {
            return new FollowState(true, batch.CreatedAt, "ADD_SCENE_SEARCH");
        }
        return null;
    }

    /// <summary>Records a follow or unfollow.</summary>
    public void SetFollow(SandboxUser user, string appid, bool subscribed, string scene, string qrSceneStr = "", long qrScene = 0)
    {
        lock (user.Gate)
        {
            var previous = user.Follows.GetValueOrDefault(appid) ?? FollowOf(user.Name, appid);
            // subscribe_time is the last follow time (§2.1); an unfollow keeps it.
            var time = subscribed ? clock.UnixSeconds() : previous?.SubscribeTime ?? 0;
            user.Follows[appid] = subscribed
                ? new FollowState(true, time, scene, qrSceneStr, qrScene)
                : new FollowState(false, time, previous?.Scene ?? scene, previous?.QrSceneStr ?? "", previous?.QrScene ?? 0);
        }
        Interlocked.Increment(ref _followVersion);
    }

    /// <summary>Followers of an OA in a stable order, with positions for next_openid paging (§2.3).</summary>
    public FollowerList FollowersOf(string appid)
    {
        var version = Interlocked.Read(ref _followVersion);
        if (_followerCache.TryGetValue(appid, out var cached) && cached.Version == version)
        {
            return cached;
        }
        var openids = new List<string>();
        var names = new List<string>();
        foreach (var name in Names())
        {
            if (FollowOf(name, appid) is { Subscribed: true })
            {
                var openid = IdDeriver.OpenId(appid, name);
                openids.Add(openid);
                names.Add(name);
                _index.TryAdd(("openid:" + appid, openid), name);
            }
        }
        var list = new FollowerList(version, openids, names);
        _followerCache[appid] = list;
        return list;
    }

    /// <summary>The names of an OA's followers now.</summary>
    public IReadOnlyList<string> FollowerNames(string appid) => [.. FollowersOf(appid).Names];

    /// <summary>
    /// Finds the user behind an id of a namespace (e.g. "openid:wx…"), given how ids of it are derived. Ids are
    /// one-way, so a namespace's reverse index is filled on the first miss and afterwards only for the users added
    /// since (named users and batches are append-only): no call scans users it already indexed, and concurrent
    /// misses of one namespace fill the index once.
    /// </summary>
    public string? Resolve(string ns, string id, Func<string, string> derive)
    {
        if (_index.TryGetValue((ns, id), out var name))
        {
            return name;
        }
        var progress = _indexProgress.GetOrAdd(ns, _ => new IndexProgress());
        int namedTotal, batchTotal;
        lock (_gate)
        {
            namedTotal = _namedOrder.Count;
            batchTotal = _batches.Count;
        }
        if (Volatile.Read(ref progress.Named) == namedTotal && Volatile.Read(ref progress.Batches) == batchTotal)
        {
            return null;
        }
        lock (progress)
        {
            string[] named;
            GeneratedBatch[] batches;
            lock (_gate)
            {
                named = [.. _namedOrder.Skip(progress.Named)];
                batches = [.. _batches.Skip(progress.Batches)];
            }
            foreach (var n in named)
            {
                _index.TryAdd((ns, derive(n)), n);
            }
            foreach (var b in batches)
            {
                for (var i = 0; i < b.Count; i++)
                {
                    var n = b.Prefix + i.ToString(CultureInfo.InvariantCulture);
                    _index.TryAdd((ns, derive(n)), n);
                }
            }
            Volatile.Write(ref progress.Named, progress.Named + named.Length);
            Volatile.Write(ref progress.Batches, progress.Batches + batches.Length);
        }
        return _index.TryGetValue((ns, id), out name) ? name : null;
    }

    private sealed class IndexProgress
    {
        public int Named;
        public int Batches;
    }

    /// <summary>Remembers an id handed out, so later lookups need no scan.</summary>
    public void Remember(string ns, string id, string name) => _index.TryAdd((ns, id), name);

    private (GeneratedBatch? Batch, int Index) ParseGenerated(string name)
    {
        if (!name.StartsWith('g'))
        {
            return (null, 0);
        }
        lock (_gate)
        {
            foreach (var b in _batches)
            {
                if (name.StartsWith(b.Prefix, StringComparison.Ordinal)
                    && int.TryParse(name.AsSpan(b.Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var i)
                    && i < b.Count && string.Equals(b.Prefix + i.ToString(CultureInfo.InvariantCulture), name, StringComparison.Ordinal))
                {
                    return (b, i);
                }
            }
        }
        return (null, 0);
    }

    private static string PhoneOf(GeneratedBatch batch, int i) =>
        "+861" + (3_000_000_000L + (long)(IdDeriver.Fraction("phone", batch.Seed.ToString(CultureInfo.InvariantCulture), i.ToString(CultureInfo.InvariantCulture)) * 6_999_999_999L)).ToString(CultureInfo.InvariantCulture);

    /// <summary>A fresh 16-byte session_key.</summary>
    public static byte[] NewSessionKey() => RandomNumberGenerator.GetBytes(16);
}

/// <summary>A snapshot of an OA's followers.</summary>
internal sealed class FollowerList
{
    public FollowerList(long version, List<string> openids, List<string> names)
    {
        Version = version;
        OpenIds = openids;
        Names = names;
        var positions = new Dictionary<string, int>(openids.Count, StringComparer.Ordinal);
        for (var i = 0; i < openids.Count; i++)
        {
            positions[openids[i]] = i;
        }
        Positions = positions;
    }

    public long Version { get; }
    public IReadOnlyList<string> OpenIds { get; }

    /// <summary>The user behind each openid, same order.</summary>
    public IReadOnlyList<string> Names { get; }

    public IReadOnlyDictionary<string, int> Positions { get; }
}
