using Microsoft.Extensions.Logging;
using OneId.Sandbox.Hosting;
using OneId.Sandbox.World;

namespace OneId.Sandbox.State;

/// <summary>
/// The sandbox as one object: the current world state (swapped whole by <c>PUT /_sandbox/world</c>) and what
/// outlives a world (clock, faults, call log, options).
/// </summary>
public sealed class SandboxRuntime
{
    private readonly ILogger _logger;
    private SandboxWorldState _state;

    public SandboxRuntime(SandboxWorld world, SandboxHostOptions options, ILogger<SandboxRuntime> logger)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(options);
        WorldLoader.Validate(world);
        Options = options;
        Clock = options.Clock ?? new SandboxClock();
        _logger = logger;
        _state = new SandboxWorldState(world, Clock, options.Limits);
        Log.WorldLoaded(_logger, world.Apps.Count, world.Corps.Count, world.Components.Count);
    }

    public SandboxHostOptions Options { get; }
    public SandboxClock Clock { get; }
    public FaultInjector Faults { get; } = new();
    public CallLog Calls { get; } = new();

    /// <summary>The world being played.</summary>
    public SandboxWorld World => Volatile.Read(ref _state).World;

    internal SandboxWorldState State => Volatile.Read(ref _state);

    /// <summary>Raised after the world was replaced (the push loop sends fresh tickets).</summary>
    public event EventHandler? WorldReplaced;

    /// <summary>Replaces the world and forgets users, tokens and codes of the old one.</summary>
    public void ReplaceWorld(SandboxWorld world)
    {
        WorldLoader.Validate(world);
        Volatile.Write(ref _state, new SandboxWorldState(world, Clock, Options.Limits));
        Log.WorldLoaded(_logger, world.Apps.Count, world.Corps.Count, world.Components.Count);
        WorldReplaced?.Invoke(this, EventArgs.Empty);
    }
}
