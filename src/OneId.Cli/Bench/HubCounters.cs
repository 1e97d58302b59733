using System.Diagnostics;
using System.Globalization;

namespace OneId.Cli.Bench;

/// <summary>This process's CPU, allocation, collections and GC pauses over a phase, per request where that means something.</summary>
internal readonly record struct HubCounters(TimeSpan Cpu, long Allocated, int Gen0, int Gen1, int Gen2, TimeSpan Pause)
{
    public static HubCounters Start() => new(Process.GetCurrentProcess().TotalProcessorTime, GC.GetTotalAllocatedBytes(precise: false),
        GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());

    public HubPhase Stop(int requests)
    {
        var now = Start();
        return new HubPhase(1e6 * (now.Cpu - Cpu).TotalSeconds / requests, (double)(now.Allocated - Allocated) / requests,
            now.Gen0 - Gen0, now.Gen1 - Gen1, now.Gen2 - Gen2, (now.Pause - Pause).TotalMilliseconds, ThreadPool.ThreadCount);
    }
}

/// <summary>What <see cref="HubCounters"/> measured. A collection of generation 1 counts in generation 0 too.</summary>
internal sealed record HubPhase(double CpuMicroseconds, double AllocatedBytes, int Gen0, int Gen1, int Gen2, double PauseMs, int PoolThreads)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{CpuMicroseconds:F0} µs CPU and {AllocatedBytes:F0} B allocated a request; collections gen0 {Gen0}, gen1 {Gen1}, gen2 {Gen2}, {PauseMs:F1} ms paused in all; {PoolThreads} thread-pool threads");
}
