using System.Collections.Concurrent;

namespace OneId.Sandbox.State;

/// <summary>One call to an emulated endpoint. Only the path and outcome are kept: no secrets, tokens or codes.</summary>
public sealed record SandboxCall(DateTimeOffset At, string Method, string Path, int Errcode);

/// <summary>What was called: counts per path and the latest calls (<c>GET /_sandbox/calls</c>).</summary>
public sealed class CallLog
{
    private const int Kept = 200;
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<SandboxCall> _latest = new();

    public void Record(SandboxCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        _counts.AddOrUpdate(call.Path, 1, (_, c) => c + 1);
        _latest.Enqueue(call);
        while (_latest.Count > Kept && _latest.TryDequeue(out _))
        {
        }
    }

    public IReadOnlyDictionary<string, long> Counts => new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);

    public IReadOnlyList<SandboxCall> Latest => [.. _latest];

    public long CountOf(string path) => _counts.GetValueOrDefault(path);

    public void Clear()
    {
        _counts.Clear();
        _latest.Clear();
    }
}
