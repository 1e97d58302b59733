using System.Diagnostics;

namespace OneId.Testing;

/// <summary>
/// Waits for a condition that background work (a worker, a push, a webhook) makes true. The timeout only bounds a
/// failure: a passing test returns as soon as the condition holds, so nothing here measures speed. Tests never
/// assert after a fixed sleep.
/// </summary>
public static class Eventually
{
    /// <summary>How long a condition may take before the test fails; generous because 2 busy cores are slow.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    /// <summary>Polls <paramref name="condition"/> until it returns true; fails with <paramref name="what"/> otherwise.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition().ConfigureAwait(false))
                {
                    return;
                }
                last = null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A condition may throw while the system is still getting there (a 404 before the push lands).
                last = e;
            }
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"Still not true after {limit.TotalSeconds:0} s: {what}", last);
            }
            await Task.Delay(Poll).ConfigureAwait(false);
        }
    }

    /// <summary>Synchronous-condition overload.</summary>
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return TrueAsync(() => Task.FromResult(condition()), what, timeout);
    }

    /// <summary>Polls <paramref name="read"/> until its value satisfies <paramref name="accept"/>, and returns that value.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> accept, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(accept);
        T value = default!;
        await TrueAsync(async () =>
        {
            value = await read().ConfigureAwait(false);
            return accept(value);
        }, what, timeout).ConfigureAwait(false);
        return value;
    }
}
