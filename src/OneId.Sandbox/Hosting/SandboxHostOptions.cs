namespace OneId.Sandbox.Hosting;

/// <summary>How the sandbox runs. Every default is WeChat's own behaviour or a harmless local choice.</summary>
public sealed class SandboxHostOptions
{
    /// <summary>Loopback port to listen on; 0 picks a free one (tests).</summary>
    public int Port { get; set; }

    /// <summary>Listen on every interface instead of loopback only (for a sandbox shared on a LAN).</summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>Rate limits and quotas.</summary>
    public SandboxLimits Limits { get; set; } = new();

    /// <summary>How long a push receiver may take to answer (WeChat: 5 s, §7.2).</summary>
    public TimeSpan PushTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Attempts per push, the first included (WeChat: 3, §7.2).</summary>
    public int PushAttempts { get; set; } = 3;

    /// <summary>Sandbox time between a failed attempt and the next (advance the clock to hurry it).</summary>
    public TimeSpan PushRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Sandbox time between component_verify_ticket pushes (WeChat: 10 minutes, §5.1).</summary>
    public TimeSpan ComponentTicketInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Real time between two runs of the background loop (due pushes, tickets).</summary>
    public TimeSpan BackgroundTick { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Log to the console (the CLI); tests keep quiet.</summary>
    public bool ConsoleLogging { get; set; }

    /// <summary>The clock; null makes a fresh <see cref="SandboxClock"/> on the system clock.</summary>
    public SandboxClock? Clock { get; set; }
}
