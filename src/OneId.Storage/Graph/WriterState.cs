using System.Runtime.InteropServices;

namespace OneId.Storage.Graph;

/// <summary>
/// What the one SQLite writer knows about the graph between its transactions: for each exclusive identifier key, by a
/// 64-bit hash of it, the root person holding it; and the hashes of the stored observation keys. A batch asks it
/// before it asks SQLite, so that a key the graph has never seen costs no b-tree probe (on a long import, a probe of a
/// random leaf; past the page cache, a <c>read()</c>).
/// <para>
/// It is a hint checked against the database, never the truth:
/// <list type="bullet">
/// <item>a hash hit names a person whose keys the batch loads anyway; if the key is not among them (two keys with one
/// hash), the key is looked up in SQL;</item>
/// <item>a miss means "absent" only when the state is <see cref="Complete"/> (built from the whole table, or started on
/// an empty graph, and kept up with every commit since); otherwise the key is looked up in SQL;</item>
/// <item>it is valid only while nobody else wrote: each batch compares, on its own connection inside its write
/// transaction, <c>PRAGMA data_version</c> (which moves exactly when another connection committed) and the handle's
/// count of changed rows (which moves when anything else wrote through the same handle) with what the last batch left;
/// anything else — another handle, another value, a batch that failed — drops the state.</item>
/// </list>
/// Only batches change it, after their commit and while they still hold the write gate. Its memory is bounded by
/// <see cref="SqliteTuning.WriterStateMegabytes"/>: past that it is dropped for good and every lookup goes to SQL.
/// </para>
/// </summary>
internal sealed class WriterState(long budgetBytes, Func<string, ulong>? hash = null)
{
    private readonly Func<string, ulong> _hash = hash ?? Hash64;
    private OwnerTable? _owners;
    private FingerprintSet? _observationKeys;
    private object? _handle;
    private long _dataVersion;
    private long _totalChanges;
    private int _rebuildAfter;
    private int _drops;

    /// <summary>Whether a key absent from the state is absent from the database.</summary>
    public bool Complete => _owners is not null;

    /// <summary>Whether the memory bound was reached (the state is off for this store's lifetime).</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Counters for the bench: owner lookups answered without SQL, and hash hits that turned out wrong.</summary>
    public long KnownAbsent { get; set; }

    public long Collisions { get; set; }

    public long Drops => _drops;

    public ulong HashOf(string key) => _hash(key);

    /// <summary>The owner the state names for <paramref name="key"/>'s hash, unverified; 0 when none.</summary>
    public long OwnerHint(ulong hash) => _owners?.Get(hash) ?? 0;

    /// <summary>Whether an observation key with this hash may be stored (false: it is not).</summary>
    public bool MayHaveObservationKey(ulong hash) => _observationKeys is not { } set || set.Contains(hash);

    /// <summary>Drops what is known (a write the state did not see, a failed batch); it is rebuilt later, after a pause that grows with each drop.</summary>
    public void Drop()
    {
        if (_owners is null && _handle is null)
        {
            return;
        }
        _owners = null;
        _observationKeys = null;
        _handle = null;
        _drops++;
        _rebuildAfter = Math.Min(1 << Math.Min(_drops, 10), 1024);
    }

    /// <summary>
    /// Called by a batch inside its write transaction, before it reads: answers whether the state is usable for it
    /// (the same handle, nobody else wrote since the last batch), rebuilding it from the tables when it is due.
    /// </summary>
    public async Task<bool> BeginAsync(GraphCommands sql, CancellationToken ct)
    {
        if (Overflowed)
        {
            return false;
        }
        var (handle, dataVersion, totalChanges) = sql.WriterMarks();
        var unchanged = _handle is not null && ReferenceEquals(handle, _handle) && dataVersion == _dataVersion && totalChanges == _totalChanges;
        if (!unchanged)
        {
            Drop();
        }
        _handle = handle;
        _dataVersion = dataVersion;
        if (_owners is not null)
        {
            return true;
        }
        if (_rebuildAfter > 0)
        {
            _rebuildAfter--;
            return false;
        }
        var owners = new OwnerTable();
        var observationKeys = new FingerprintSet();
        var complete = await sql.ScanWriterStateAsync(
            (key, person) => owners.Set(_hash(key), person) && Fits(owners, observationKeys),
            key => observationKeys.Add(_hash(key)) && Fits(owners, observationKeys), ct).ConfigureAwait(false);
        if (!complete)
        {
            Overflowed = true;
            return false;
        }
        _owners = owners;
        _observationKeys = observationKeys;
        return true;
    }

    /// <summary>
    /// Called after the batch's commit, still under the write gate: the owners (roots) of every key the batch touched,
    /// the observation keys it stored, and the handle's change count after its last write.
    /// </summary>
    public void Committed(IEnumerable<(string Key, long Owner)> owners, IEnumerable<string> observationKeys, long totalChanges)
    {
        _totalChanges = totalChanges;
        if (_owners is null || _observationKeys is null)
        {
            return;
        }
        foreach (var (key, owner) in owners)
        {
            if (!_owners.Set(_hash(key), owner) || !Fits(_owners, _observationKeys))
            {
                Overflow();
                return;
            }
        }
        foreach (var key in observationKeys)
        {
            if (!_observationKeys.Add(_hash(key)) || !Fits(_owners, _observationKeys))
            {
                Overflow();
                return;
            }
        }
    }

    private void Overflow()
    {
        Overflowed = true;
        _owners = null;
        _observationKeys = null;
        _handle = null;
    }

    private bool Fits(OwnerTable owners, FingerprintSet keys) => owners.Bytes + keys.Bytes <= budgetBytes;

    /// <summary>A 64-bit hash of a string's UTF-16 code units, eight bytes at a time (the state lives in memory only).</summary>
    internal static ulong Hash64(string key)
    {
        var bytes = MemoryMarshal.AsBytes(key.AsSpan());
        var h = 0x9E3779B97F4A7C15UL ^ (ulong)bytes.Length;
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            h = (h ^ Mix(MemoryMarshal.Read<ulong>(bytes[i..]))) * 0x9FB21C651E98DF25UL;
        }
        if (i < bytes.Length)
        {
            ulong tail = 0;
            for (var j = bytes.Length - 1; j >= i; j--)
            {
                tail = (tail << 8) | bytes[j];
            }
            h = (h ^ Mix(tail)) * 0x9FB21C651E98DF25UL;
        }
        return Mix(h);
    }

    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53UL;
        return x ^ (x >> 33);
    }

    /// <summary>
    /// Open addressing, one <c>long</c> a slot: the hash's upper 32 bits (made non-zero) beside a person id of 32
    /// bits, the slot chosen by its lower 32 bits. 8 bytes a slot, grown by half at 80% full, so 10–15 bytes a key.
    /// Two keys whose hashes agree in both halves share a slot (the later owner wins): the verification catches it.
    /// </summary>
    internal sealed class OwnerTable
    {
        private long[] _slots = new long[1024];
        private int _count;

        public long Bytes => _slots.LongLength * sizeof(long);

        public int Count => _count;

        public long Get(ulong hash)
        {
            var tag = Tag(hash);
            var slots = _slots;
            for (var i = Start(hash, slots.Length); ; i = i + 1 == slots.Length ? 0 : i + 1)
            {
                var s = slots[i];
                if (s == 0)
                {
                    return 0;
                }
                if ((uint)((ulong)s >> 32) == tag)
                {
                    return (long)(uint)s;
                }
            }
        }

        /// <summary>False when the person id does not fit in 32 bits (the state then gives up).</summary>
        public bool Set(ulong hash, long person)
        {
            if (person is <= 0 or > uint.MaxValue)
            {
                return false;
            }
            if (_count + 1 > _slots.Length * 4L / 5)
            {
                Grow();
            }
            Put(_slots, Tag(hash), Start(hash, _slots.Length), (uint)person, ref _count);
            return true;
        }

        private static void Put(long[] slots, uint tag, int start, uint person, ref int count)
        {
            var value = (long)(((ulong)tag << 32) | person);
            for (var i = start; ; i = i + 1 == slots.Length ? 0 : i + 1)
            {
                var s = slots[i];
                if (s == 0)
                {
                    slots[i] = value;
                    count++;
                    return;
                }
                if ((uint)((ulong)s >> 32) == tag)
                {
                    slots[i] = value;
                    return;
                }
            }
        }

        private void Grow()
        {
            var bigger = new long[_slots.Length + (_slots.Length >> 1)];
            var count = 0;
            foreach (var s in _slots)
            {
                if (s != 0)
                {
                    // The lower half of the hash is not kept: the slot is found again from the tag (the hash's upper
                    // half) alone, which is how Start places it (see Start).
                    var tag = (uint)((ulong)s >> 32);
                    Put(bigger, tag, StartOfTag(tag, bigger.Length), (uint)s, ref count);
                }
            }
            _slots = bigger;
            _count = count;
        }

        private static uint Tag(ulong hash) => (uint)(hash >> 32) | 1;

        // The start slot depends only on the tag, so a table can grow without the full hashes.
        private static int Start(ulong hash, int length) => StartOfTag(Tag(hash), length);

        private static int StartOfTag(uint tag, int length) => (int)(((ulong)(tag * 0x9E3779B9U) * (ulong)length) >> 32);
    }

    /// <summary>A set of 32-bit fingerprints of observation keys (4 bytes a slot): a false "present" only costs a SQL probe.</summary>
    internal sealed class FingerprintSet
    {
        private uint[] _slots = new uint[1024];
        private int _count;

        public long Bytes => _slots.LongLength * sizeof(uint);

        public bool Contains(ulong hash)
        {
            var tag = Tag(hash);
            var slots = _slots;
            for (var i = StartOfTag(tag, slots.Length); ; i = i + 1 == slots.Length ? 0 : i + 1)
            {
                var s = slots[i];
                if (s == 0)
                {
                    return false;
                }
                if (s == tag)
                {
                    return true;
                }
            }
        }

        public bool Add(ulong hash)
        {
            if (_count + 1 > _slots.Length * 4L / 5)
            {
                var bigger = new uint[_slots.Length + (_slots.Length >> 1)];
                var count = 0;
                foreach (var s in _slots)
                {
                    if (s != 0)
                    {
                        Put(bigger, s, ref count);
                    }
                }
                _slots = bigger;
                _count = count;
            }
            Put(_slots, Tag(hash), ref _count);
            return true;
        }

        private static void Put(uint[] slots, uint tag, ref int count)
        {
            for (var i = StartOfTag(tag, slots.Length); ; i = i + 1 == slots.Length ? 0 : i + 1)
            {
                if (slots[i] == tag)
                {
                    return;
                }
                if (slots[i] == 0)
                {
                    slots[i] = tag;
                    count++;
                    return;
                }
            }
        }

        private static uint Tag(ulong hash) => (uint)(hash >> 32) | 1;

        private static int StartOfTag(uint tag, int length) => (int)(((ulong)(tag * 0x9E3779B9U) * (ulong)length) >> 32);
    }
}
