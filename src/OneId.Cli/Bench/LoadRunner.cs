using System.Diagnostics;

namespace OneId.Cli.Bench;

/// <summary>Rate and latency percentiles of one load phase.</summary>
internal sealed record LoadFigures(int Requests, int Errors, double Seconds, double PerSecond, double P50Ms, double P99Ms)
{
    public override string ToString() => $"{PerSecond,9:F0}/s   p50 {P50Ms,6:F2} ms   p99 {P99Ms,6:F2} ms   ({Requests} requests, {Errors} errors, {Seconds:F1} s)";
}

/// <summary>A paced phase: its figures, the rate asked for, and the 99th percentile of how late operations started (ms).</summary>
internal sealed record PacedFigures(LoadFigures Load, double Rate, double StartLateP99Ms);

/// <summary>Runs <c>total</c> operations with <c>concurrency</c> workers and measures each one.</summary>
internal static class LoadRunner
{
    public static async Task<LoadFigures> RunAsync(int total, int concurrency, Func<int, CancellationToken, Task<bool>> operation, CancellationToken ct)
    {
        var latencies = new double[total];
        var next = -1;
        var errors = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                var start = Stopwatch.GetTimestamp();
                var ok = await operation(i, ct).ConfigureAwait(false);
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }, ct)).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new LoadFigures(total, errors, seconds, total / seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    /// <summary>
    /// Runs <c>total</c> operations at <c>rate</c> per second, open loop: operation i is started when it is due (i / rate
    /// seconds after the start) whatever the earlier ones are doing, so a slow answer delays no later request and shows
    /// in the percentiles instead of quietly lowering the rate. Latency counts from the start of each operation; how
    /// late the starts were (timer slack, a busy machine) is reported beside it, so the rate held can be checked.
    /// </summary>
    public static async Task<PacedFigures> PacedAsync(int total, double rate, Func<int, CancellationToken, Task<bool>> operation, CancellationToken ct)
    {
        var latencies = new double[total];
        var lateness = new double[total];
        var errors = 0;
        var running = new Task[total];
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i * (Stopwatch.Frequency / rate));
            var wait = due - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency), ct).ConfigureAwait(false);
            }
            var index = i;
            lateness[i] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
            running[i] = Task.Run(async () =>
            {
                var begun = Stopwatch.GetTimestamp();
                var ok = await operation(index, ct).ConfigureAwait(false);
                latencies[index] = Stopwatch.GetElapsedTime(begun).TotalMilliseconds;
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }, ct);
        }
        await Task.WhenAll(running).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Array.Sort(latencies);
        Array.Sort(lateness);
        return new PacedFigures(new LoadFigures(total, errors, seconds, total / seconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99)),
            rate, Percentile(lateness, 0.99));
    }

    /// <summary>The p-quantile (0–1) of an ascending array, nearest rank; 0 when empty. Every bench phase uses this one.</summary>
    internal static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
