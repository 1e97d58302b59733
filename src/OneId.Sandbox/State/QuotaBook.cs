using System.Collections.Concurrent;

namespace OneId.Sandbox.State;

/// <summary>
/// Fixed-window call counters in sandbox time, for the minute limits (45011) and daily quotas (45009) of
/// docs/wechat-api.md §10.5. Daily windows roll at midnight China time (UTC+8), when WeChat resets quotas.
/// </summary>
internal sealed class QuotaBook(SandboxClock clock)
{
    private static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);
    private readonly ConcurrentDictionary<(string Key, long Window), int> _counts = new();
    private long _hits;

    /// <summary>Counts one call; false when the window already holds <paramref name="limit"/> calls.</summary>
    public bool TryHit(string key, int limit, QuotaWindow window)
    {
        var index = WindowIndex(window);
        var count = _counts.AddOrUpdate((key, index), 1, (_, c) => c + 1);
        // Forget windows that are over now and then: every 50,000 hits, never per call (ConcurrentDictionary.Count
        // takes every lock, and per-user keys make the book large).
        if (Interlocked.Increment(ref _hits) % 50_000 == 0)
        {
            Prune();
        }
        return count <= limit;
    }

    /// <summary>Calls counted in the current window.</summary>
    public int Count(string key, QuotaWindow window) => _counts.GetValueOrDefault((key, WindowIndex(window)));

    /// <summary>Like <c>cgi-bin/clear_quota</c>: forgets the counters of a key prefix.</summary>
    public void Clear(string keyPrefix)
    {
        foreach (var k in _counts.Keys.Where(k => k.Key.StartsWith(keyPrefix, StringComparison.Ordinal)))
        {
            _counts.TryRemove(k, out _);
        }
    }

    private long WindowIndex(QuotaWindow window)
    {
        var seconds = (clock.GetUtcNow() + ChinaOffset).ToUnixTimeSeconds();
        return (window switch
        {
            QuotaWindow.Minute => seconds / 60,
            QuotaWindow.Hour => seconds / 3600,
            _ => seconds / 86400,
        } * 4) + (int)window;
    }

    private void Prune()
    {
        var minute = WindowIndex(QuotaWindow.Minute);
        var hour = WindowIndex(QuotaWindow.Hour);
        foreach (var (k, _) in _counts)
        {
            if ((k.Window % 4 == (int)QuotaWindow.Minute && k.Window < minute) || (k.Window % 4 == (int)QuotaWindow.Hour && k.Window < hour))
            {
                _counts.TryRemove(k, out _);
            }
        }
    }
}

internal enum QuotaWindow
{
    Minute = 0,
    Hour = 1,
    Day = 2,
}
