namespace OneId.Sandbox;

/// <summary>
/// The sandbox's time: real time plus an offset that the control API (<c>POST /_sandbox/clock</c>) moves forward,
/// so tests can expire tokens and codes without waiting. Time keeps flowing between advances.
/// </summary>
public sealed class SandboxClock : TimeProvider
{
    private readonly TimeProvider _inner;
    private long _offsetTicks;

    public SandboxClock(TimeProvider? inner = null) => _inner = inner ?? System;

    /// <summary>How far the sandbox is ahead of the underlying clock.</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow() + Offset;

    /// <summary>Moves the clock forward (never back: WeChat time does not run backwards).</summary>
    public DateTimeOffset Advance(TimeSpan by)
    {
        if (by < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(by), by, "the sandbox clock only moves forward");
        }
        Interlocked.Add(ref _offsetTicks, by.Ticks);
        return GetUtcNow();
    }

    /// <summary>Unix seconds now, the unit of CreateTime, subscribe_time and createtime.</summary>
    public long UnixSeconds() => GetUtcNow().ToUnixTimeSeconds();
}
