namespace OneId.Sandbox.State;

/// <summary>A fault to play on one path: an errcode, a delay, or both; <c>Times</c> null means until cleared.</summary>
public sealed record SandboxFault(string Path, int? Errcode, int? Times, int? DelayMs);

/// <summary>
/// Faults set by <c>POST /_sandbox/faults</c>: the next calls of a path answer a chosen errcode (-1, 45011, 40001
/// …) and/or answer late, so clients can prove their retries, pauses and timeouts.
/// </summary>
public sealed class FaultInjector
{
    private readonly Lock _gate = new();
    private readonly List<Rule> _rules = [];
    private int _count;

    private sealed class Rule(SandboxFault fault)
    {
        public SandboxFault Fault { get; } = fault;
        public int? Remaining { get; set; } = fault.Times;
    }

    public void Add(SandboxFault fault)
    {
        lock (_gate)
        {
            _rules.Add(new Rule(fault));
            Volatile.Write(ref _count, _rules.Count);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _rules.Clear();
            Volatile.Write(ref _count, 0);
        }
    }

    public IReadOnlyList<SandboxFault> Active()
    {
        lock (_gate)
        {
            return [.. _rules.Select(r => r.Fault with { Times = r.Remaining })];
        }
    }

    /// <summary>Takes the fault for a call of this path, counting one use; null when none applies.</summary>
    public SandboxFault? Take(string path)
    {
        // The common case, no faults at all, takes no lock: every emulated call passes here.
        if (Volatile.Read(ref _count) == 0)
        {
            return null;
        }
        lock (_gate)
        {
            var rule = _rules.Find(r => string.Equals(r.Fault.Path, path, StringComparison.OrdinalIgnoreCase));
            if (rule is null)
            {
                return null;
            }
            if (rule.Remaining is { } left)
            {
                rule.Remaining = left - 1;
                if (left - 1 <= 0)
                {
                    _rules.Remove(rule);
                    Volatile.Write(ref _count, _rules.Count);
                }
            }
            return rule.Fault;
        }
    }
}
