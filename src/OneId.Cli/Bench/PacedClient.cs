using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;

namespace OneId.Cli.Bench;

/// <summary>
/// A paced phase's figures: latency from each request's actual start (what the hub gave) and from the moment it was
/// due (what a caller arriving on schedule saw, the start's lateness included), how late the starts were, and the
/// client's own collections and GC pause time (NaN where the client shares the hub's process), which delay its reading
/// of answers as much as the hub's pauses would.
/// </summary>
internal sealed record PacedRun(LoadFigures Load, double Rate, double StartLateP50Ms, double StartLateP99Ms, double FromDueP50Ms, double FromDueP99Ms,
    double ClientGcs, double ClientGcPauseMs)
{
    public PacedFigures Figures => new(Load, Rate, StartLateP99Ms);
}

/// <summary>
/// The paced, open-loop HTTP load of <c>oneid bench resolve</c>: request i is sent i / rate seconds after the first by
/// one dedicated thread, which sleeps in the kernel until then (not a <c>Task.Delay</c> continuation, which waits for a
/// free thread-pool thread and, when the hub shares that pool, for the hub's own work). Only the answers are read on
/// the thread pool. Run in a process of its own (<c>oneid bench paced-client</c>), the OS schedules it and the hub
/// separately, as callers are in production.
/// </summary>
internal static partial class PacedClient
{
    public static async Task<PacedRun> RunAsync(Uri baseAddress, string bearer, IReadOnlyList<string> targets, double rate, CancellationToken ct)
    {
        using var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        // Warm this client (JIT, connections) on a few requests, unmeasured, before the schedule starts.
        await LoadRunner.RunAsync(Math.Min(500, targets.Count), 8, (i, c) => GetAsync(client, targets[i], c), ct).ConfigureAwait(false);

        var total = targets.Count;
        var latencies = new double[total];
        var fromDue = new double[total];
        var lateness = new double[total];
        var errors = 0;
        var running = new Task[total];
        var interval = Stopwatch.Frequency / rate;
        var (gcs, paused) = (GC.CollectionCount(0), GC.GetTotalPauseDuration());
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100; // the schedule starts 10 ms from now
        var pacer = new Thread(() =>
        {
            for (var i = 0; i < total && !ct.IsCancellationRequested; i++)
            {
                var due = start + (long)(i * interval);
                SleepUntil(due);
                var begun = Stopwatch.GetTimestamp();
                lateness[i] = Math.Max(0, (begun - due) * 1000.0 / Stopwatch.Frequency);
                running[i] = Measure(i, due, begun);
            }
        })
        { IsBackground = true, Name = "paced-client", Priority = ThreadPriority.AboveNormal };
        pacer.Start();
        await Task.Run(pacer.Join, ct).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        await Task.WhenAll(running).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Array.Sort(latencies);
        Array.Sort(fromDue);
        Array.Sort(lateness);
        return new PacedRun(new LoadFigures(total, errors, seconds, total / seconds, LoadRunner.Percentile(latencies, 0.50), LoadRunner.Percentile(latencies, 0.99)),
            rate, LoadRunner.Percentile(lateness, 0.50), LoadRunner.Percentile(lateness, 0.99), LoadRunner.Percentile(fromDue, 0.50), LoadRunner.Percentile(fromDue, 0.99),
            GC.CollectionCount(0) - gcs, (GC.GetTotalPauseDuration() - paused).TotalMilliseconds);

        // Sends on the pacer thread up to the request's first wait; the rest runs on the thread pool.
        async Task Measure(int index, long due, long begun)
        {
            var ok = await GetAsync(client, targets[index], ct).ConfigureAwait(false);
            var end = Stopwatch.GetTimestamp();
            latencies[index] = (end - begun) * 1000.0 / Stopwatch.Frequency;
            fromDue[index] = (end - due) * 1000.0 / Stopwatch.Frequency;
            if (!ok)
            {
                Interlocked.Increment(ref errors);
            }
        }
    }

    private static async Task<bool> GetAsync(HttpClient client, string path, CancellationToken ct)
    {
        try
        {
            using var r = await client.GetAsync(path, ct).ConfigureAwait(false);
            await r.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            return r.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static void SleepUntil(long due)
    {
        while (true)
        {
            var wait = due - Stopwatch.GetTimestamp();
            if (wait <= 0)
            {
                return;
            }
            var ns = (long)(wait * (1e9 / Stopwatch.Frequency));
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            {
                // Thread.Sleep rounds to whole milliseconds, longer than the gap between requests at a few thousand a
                // second; nanosleep wakes within tens of microseconds.
                var spec = new TimeSpec { Seconds = ns / 1_000_000_000, Nanoseconds = ns % 1_000_000_000 };
                _ = NanoSleep(ref spec, IntPtr.Zero);
            }
            else
            {
                Thread.Sleep(ns >= 1_000_000 ? (int)(ns / 1_000_000) : 0);
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(ref TimeSpec request, IntPtr remaining);
}
