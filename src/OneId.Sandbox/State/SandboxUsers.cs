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

    // A copy of _batches for lock-free reads: every lookup of a generated user parses its name against the batches.
    private volatile GeneratedBatch[] _batchSnapshot = [];
    private readonly ConcurrentDictionary<(string Ns, string Id), string> _index = new();
    private readonly ConcurrentDictionary<string, IndexProgress> _indexProgress = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FollowerIndex> _followers = new(StringComparer.Ordinal);
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
            _batchSnapshot = [.. _batches];
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
        return _materialized.GetOrAdd(name, _ => new SandboxUser(name, name, PhoneOf(batch, i), batch.FirstOrdinal + i));
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
        // Keep a built follower index current: one entry more or one tombstone, never a rebuild.
        if (_followers.TryGetValue(appid, out var index))
        {
            lock (index.CatchUpGate)
            {
                index.Set(IdDeriver.OpenId(appid, user.Name), user.Name, subscribed);
            }
        }
    }

    /// <summary>
    /// Followers of an OA in a stable order, for next_openid paging (§2.3). Built once per OA by one pass over the
    /// users; afterwards follows and unfollows patch it, and users added later are appended, so no call rescans.
    /// </summary>
    public FollowerIndex FollowersOf(string appid)
    {
        var index = _followers.GetOrAdd(appid, _ => new FollowerIndex());
        int namedTotal, batchTotal;
        lock (_gate)
        {
            namedTotal = _namedOrder.Count;
            batchTotal = _batches.Count;
        }
        if (index.NamedIndexed == namedTotal && index.BatchesIndexed == batchTotal)
        {
            return index;
        }
        lock (index.CatchUpGate)
        {
            string[] named;
            GeneratedBatch[] batches;
            lock (_gate)
            {
                named = [.. _namedOrder.Skip(index.NamedIndexed)];
                batches = [.. _batches.Skip(index.BatchesIndexed)];
            }
            void Consider(string name)
            {
                if (FollowOf(name, appid) is { Subscribed: true })
                {
                    var openid = IdDeriver.OpenId(appid, name);
                    index.AddIfAbsent(openid, name);
                    _index.TryAdd(("openid:" + appid, openid), name);
                }
            }
            foreach (var n in named)
            {
                Consider(n);
            }
            foreach (var b in batches)
            {
                for (var i = 0; i < b.Count; i++)
                {
                    Consider(b.Prefix + i.ToString(CultureInfo.InvariantCulture));
                }
            }
            index.NamedIndexed += named.Length;
            index.BatchesIndexed += batches.Length;
        }
        return index;
    }

    /// <summary>The names of an OA's followers now.</summary>
    public IReadOnlyList<string> FollowerNames(string appid) => FollowersOf(appid).LiveNames();

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
        foreach (var b in _batchSnapshot)
        {
            if (name.StartsWith(b.Prefix, StringComparison.Ordinal)
                && int.TryParse(name.AsSpan(b.Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var i)
                && i < b.Count && string.Equals(b.Prefix + i.ToString(CultureInfo.InvariantCulture), name, StringComparison.Ordinal))
            {
                return (b, i);
            }
        }
        return (null, 0);
    }

    private static string PhoneOf(GeneratedBatch batch, int i) =>
        "+861" + (3_000_000_000L + (long)(IdDeriver.Fraction("phone", batch.Seed.ToString(CultureInfo.InvariantCulture), i.ToString(CultureInfo.InvariantCulture)) * 6_999_999_999L)).ToString(CultureInfo.InvariantCulture);

    /// <summary>A fresh 16-byte session_key.</summary>
    public static byte[] NewSessionKey() => RandomNumberGenerator.GetBytes(16);
}

/// <summary>
/// An OA's followers in follow order: append-only entries with tombstones for unfollows, so a next_openid position stays
/// valid and a page costs O(page).
/// </summary>
internal sealed class FollowerIndex
{
    private readonly Lock _gate = new();
    private readonly List<(string OpenId, string Name)> _entries = [];
    private readonly List<bool> _live = [];
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);
    private int _liveCount;

    /// <summary>Serializes catching up with users added since the index was built.</summary>
    public Lock CatchUpGate { get; } = new();

    public int NamedIndexed { get; set; }
    public int BatchesIndexed { get; set; }

    public int Total
    {
        get
        {
            lock (_gate)
            {
                return _liveCount;
            }
        }
    }

    public void AddIfAbsent(string openid, string name)
    {
        lock (_gate)
        {
            if (!_positions.ContainsKey(openid))
            {
                Append(openid, name);
            }
        }
    }

    /// <summary>A follow appends (again, after an unfollow); an unfollow leaves a tombstone.</summary>
    public void Set(string openid, string name, bool subscribed)
    {
        lock (_gate)
        {
            var known = _positions.TryGetValue(openid, out var position);
            if (subscribed && !(known && _live[position]))
            {
                Append(openid, name);
            }
            else if (!subscribed && known && _live[position])
            {
                _live[position] = false;
                _liveCount--;
            }
        }
    }

    /// <summary>The position of an openid handed out as next_openid, or -1.</summary>
    public int PositionOf(string openid)
    {
        lock (_gate)
        {
            return _positions.TryGetValue(openid, out var p) ? p : -1;
        }
    }

    /// <summary>Up to <paramref name="max"/> live openids from <paramref name="from"/>.</summary>
    public List<string> Page(int from, int max)
    {
        lock (_gate)
        {
            var page = new List<string>(Math.Min(max, _liveCount));
            for (var i = Math.Max(0, from); i < _entries.Count && page.Count < max; i++)
            {
                if (_live[i])
                {
                    page.Add(_entries[i].OpenId);
                }
            }
            return page;
        }
    }

    public IReadOnlyList<string> LiveNames()
    {
        lock (_gate)
        {
            return [.. _entries.Where((_, i) => _live[i]).Select(e => e.Name)];
        }
    }

    private void Append(string openid, string name)
    {
        _positions[openid] = _entries.Count;
        _entries.Add((openid, name));
        _live.Add(true);
        _liveCount++;
    }
}
