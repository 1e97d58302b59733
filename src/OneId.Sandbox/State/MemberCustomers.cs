namespace OneId.Sandbox.State;

/// <summary>
/// The customers of one WeCom member in the order they were added, for <c>externalcontact/list</c> and the cursor
/// paging of <c>externalcontact/batch/get_by_user</c>. Append-only with tombstones, so a position handed out in a
/// cursor stays valid while customers come and go, and a page costs O(page), not O(customers).
/// </summary>
internal sealed class MemberCustomers
{
    private readonly Lock _gate = new();
    private readonly List<string?> _entries = [];
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);
    private int _live;

    /// <summary>Live customers.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _live;
            }
        }
    }

    /// <summary>Adds the user at the end; false when already a customer.</summary>
    public bool Add(string user)
    {
        lock (_gate)
        {
            if (_positions.ContainsKey(user))
            {
                return false;
            }
            _positions[user] = _entries.Count;
            _entries.Add(user);
            _live++;
            return true;
        }
    }

    /// <summary>Removes the user; false when not a customer.</summary>
    public bool Remove(string user)
    {
        lock (_gate)
        {
            if (!_positions.Remove(user, out var position))
            {
                return false;
            }
            _entries[position] = null;
            _live--;
            return true;
        }
    }

    /// <summary>Every live customer in add order.</summary>
    public IReadOnlyList<string> All()
    {
        lock (_gate)
        {
            var all = new List<string>(_live);
            foreach (var e in _entries)
            {
                if (e is not null)
                {
                    all.Add(e);
                }
            }
            return all;
        }
    }

    /// <summary>
    /// Up to <paramref name="max"/> live customers from position <paramref name="from"/>; returns the position after the
    /// last one taken (or the end), so the caller can continue there.
    /// </summary>
    public int Page(int from, int max, List<string> into)
    {
        lock (_gate)
        {
            var i = Math.Max(0, from);
            for (; i < _entries.Count && max > 0; i++)
            {
                if (_entries[i] is { } user)
                {
                    into.Add(user);
                    max--;
                }
            }
            return i;
        }
    }

    /// <summary>Is there a live customer at or after <paramref name="from"/>?</summary>
    public bool AnyFrom(int from)
    {
        lock (_gate)
        {
            for (var i = Math.Max(0, from); i < _entries.Count; i++)
            {
                if (_entries[i] is not null)
                {
                    return true;
                }
            }
            return false;
        }
    }
}
