using System.Diagnostics;
using System.Globalization;
using Npgsql;
using OneId.Graph;
using OneId.Storage;
using OneId.Storage.Graph;

namespace OneId.Cli.Bench;

/// <summary>
/// <c>oneid bench ingest --writers N</c> on PostgreSQL: the same number of events ingested by one writer, then by N
/// writers at once on disjoint persons (each its own store instance and connection pool, as N hub processes or
/// importers are), each phase in a fresh tenant schema. While a phase runs, one more connection samples
/// <c>pg_stat_activity</c> every few milliseconds: a writer's backend waiting with <c>wait_event_type = 'Lock'</c> is
/// time spent queueing on a lock (advisory, row or transaction), which is what the figure reports.
/// </summary>
internal static class WritersBench
{
    public sealed record Phase(int Writers, long Events, double Seconds, (double Client, double Server) Cpu, long Samples, long LockSamples,
        IReadOnlyDictionary<string, long> LockWaits, long RacesLost)
    {
        public double EventsPerSecond => Events / Seconds;

        /// <summary>Share of the writers' time spent waiting on a lock: lock samples ÷ (samples × writers).</summary>
        public double LockShare => Samples == 0 ? 0 : (double)LockSamples / (Samples * Writers);
    }

    public static async Task<Phase> RunAsync(string db, int writers, int events, int batchSize, CancellationToken ct)
    {
        var app = "oneid-bench-w" + Guid.NewGuid().ToString("N")[..8];
        var tenant = "bench_" + Guid.NewGuid().ToString("N")[..8];
        var writerDb = new NpgsqlConnectionStringBuilder(db) { ApplicationName = app }.ConnectionString;
        var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var per = events / writers;
        // Disjoint persons: each writer's stream starts a billion persons after the previous one's.
        var streams = Enumerable.Range(0, writers).Select(w => IngestWorkload.Generate(per, start, w * 1_000_000_000L).ToArray()).ToArray();
        var databases = Enumerable.Range(0, writers).Select(_ => StoreDatabase.Open(writerDb, tenant)).ToArray();
        var stores = new List<SqlGraphStore>();
        try
        {
            foreach (var d in databases)
            {
                stores.Add(await SqlGraphStore.OpenAsync(d, ct).ConfigureAwait(false));
            }
            var meter = CpuMeter.For(databases[0], db);
            await using var sampler = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(db) { Pooling = false }.ConnectionString);
            using var stop = new CancellationTokenSource();
            await meter.StartAsync(ct).ConfigureAwait(false);
            var sampling = SampleAsync(sampler, app, stop.Token);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(stores.Select((store, w) => Task.Run(async () =>
            {
                var stream = streams[w];
                for (var i = 0; i < stream.Length; i += batchSize)
                {
                    await store.ObserveManyAsync(new ArraySegment<Observation>(stream, i, Math.Min(batchSize, stream.Length - i)), ct).ConfigureAwait(false);
                }
            }, ct))).ConfigureAwait(false);
            var seconds = clock.Elapsed.TotalSeconds;
            await stop.CancelAsync().ConfigureAwait(false);
            var (samples, lockSamples, waits) = await sampling.ConfigureAwait(false);
            var cpu = await meter.StopAsync(ct).ConfigureAwait(false);
            return new Phase(writers, (long)per * writers, seconds, cpu, samples, lockSamples, waits, databases.Sum(d => d.RacesLost));
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync().ConfigureAwait(false);
            }
            await using (var c = await databases[0].OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false))
            {
                await StoreDatabase.ExecuteAsync(c, null, $"DROP SCHEMA IF EXISTS {((PostgresDatabase)databases[0]).Schema} CASCADE", CancellationToken.None).ConfigureAwait(false);
            }
            foreach (var d in databases)
            {
                await d.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // One sample every 5 ms: the writers' backends waiting on a lock at that instant. A writer busy in the client, or
    // in a statement, is not waiting; so lock samples ÷ (samples × writers) is the share of their time spent queueing.
    private static async Task<(long Samples, long LockSamples, Dictionary<string, long> Waits)> SampleAsync(NpgsqlDataSource sampler, string app, CancellationToken stop)
    {
        long samples = 0, lockSamples = 0;
        var waits = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var connection = await sampler.OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand("SELECT wait_event FROM pg_stat_activity WHERE application_name = @app AND wait_event_type = 'Lock'", connection);
        cmd.Parameters.AddWithValue("app", app);
        await cmd.PrepareAsync(CancellationToken.None).ConfigureAwait(false);
        while (!stop.IsCancellationRequested)
        {
            samples++;
            await using (var reader = await cmd.ExecuteReaderAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    lockSamples++;
                    var what = reader.IsDBNull(0) ? "?" : reader.GetString(0);
                    waits[what] = waits.GetValueOrDefault(what) + 1;
                }
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return (samples, lockSamples, waits);
    }

    public static string Describe(Phase p) =>
        $"{p.Writers} writer{(p.Writers == 1 ? "" : "s")}: {p.Events:N0} events in {p.Seconds:F2} s: {p.EventsPerSecond:N0} events/s; " +
        $"cpu {p.Cpu.Client + p.Cpu.Server:F2} s (client {p.Cpu.Client:F2} + server {p.Cpu.Server:F2}); " +
        $"waiting on locks {(100 * p.LockShare).ToString("F1", CultureInfo.InvariantCulture)}% of the writers' time " +
        $"({p.LockSamples:N0} of {p.Samples:N0} samples × {p.Writers}{(p.LockWaits.Count == 0 ? "" : ": " + string.Join(", ", p.LockWaits.OrderByDescending(w => w.Value).Select(w => $"{w.Key} {w.Value}")))}); " +
        $"{p.RacesLost} transactions run again";
}
