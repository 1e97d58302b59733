using System.Diagnostics;

namespace OneId.Cli.Bench;

/// <summary>Rate and latency percentiles of one load phase.</summary>
internal sealed record LoadFigures(int Requests, int Errors, double Seconds, double PerSecond, double P50Ms, double P99Ms)
{
    public override string ToString() => $"{PerSecond,9:F0}/s   p50 {P50Ms,6:F2} ms   p99 {P99Ms,6:F2} ms   ({Requests} requests, {Errors} errors, {Seconds:F1} s)";
}

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

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
