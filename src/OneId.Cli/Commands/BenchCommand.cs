using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using OneId.Cli.Bench;
using OneId.Graph;
using OneId.Storage;
using OneId.Storage.Graph;

namespace OneId.Cli.Commands;

/// <summary><c>oneid bench …</c>: measurements that the README quotes. Targets are measured here, never in tests.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Measure OneId against a baseline on this machine.");
        bench.Subcommands.Add(CreateIngest());
        bench.Subcommands.Add(BenchWorkloadCommand.Create());
        bench.Subcommands.Add(BenchLoginCommand.Create());
        bench.Subcommands.Add(BenchResolveCommand.Create());
        bench.Subcommands.Add(BenchPacedClientCommand.Create());
        bench.Subcommands.Add(BenchConsoleCommand.Create());
        bench.Subcommands.Add(BenchSandboxCommand.Create());
        bench.Subcommands.Add(BenchWebhooksCommand.Create());
        bench.Subcommands.Add(BenchPushesCommand.Create());
        bench.Subcommands.Add(BenchWeComBackfillCommand.Create());
        return bench;
    }

    private static Command CreateIngest()
    {
        var events = new Option<int>("--events") { Description = "How many observations to generate and ingest", DefaultValueFactory = _ => 200_000 };
        var db = new Option<string?>("--db") { Description = "Store to measure: a new SQLite file (default: a temp file) or a PostgreSQL connection string" };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures" };
        var batchSize = new Option<int>("--batch-size") { Description = "Observations per transaction (default: as `oneid import`)", DefaultValueFactory = _ => ImportCommand.DefaultBatchSize };
        var writers = new Option<int>("--writers")
        {
            Description = "PostgreSQL: instead of the baselines, ingest the events with one writer, then with N writers at once on disjoint persons, and report throughput and time waiting on locks",
            DefaultValueFactory = _ => 1,
        };
        var command = new Command("ingest", "Ingest a generated stream (creates, links, merges) and compare with the fastest plain upsert of the same rows on that store.") { events, db, json, batchSize, writers };
        command.SetAction((parse, ct) => parse.GetValue(writers) == 1
            ? RunIngestAsync(parse.GetValue(events), parse.GetValue(db), parse.GetValue(json), parse.GetValue(batchSize), ct)
            : RunWritersAsync(parse.GetValue(events), parse.GetValue(db), parse.GetValue(batchSize), parse.GetValue(writers), ct));
        return command;
    }

    private static async Task<int> RunWritersAsync(int events, string? db, int batchSize, int writers, CancellationToken ct)
    {
        if (events <= 0 || batchSize <= 0 || writers < 2 || writers > 16)
        {
            return CliOutput.Fail("--events and --batch-size must be positive, --writers between 2 and 16", CliOutput.Usage);
        }
        if (db is null || !StoreDatabase.LooksLikePostgres(db))
        {
            return CliOutput.Fail("--writers measures PostgreSQL writers side by side: give --db a PostgreSQL connection string (SQLite has one writer)", CliOutput.Usage);
        }
        try
        {
            // An unreported warm-up (JIT, server caches) so that neither phase pays for it; then the baseline, in the
            // same run: the same job done by one writer.
            await WritersBench.RunAsync(db, writers, Math.Min(events, 20_000), batchSize, ct).ConfigureAwait(false);
            var one = await WritersBench.RunAsync(db, 1, events, batchSize, ct).ConfigureAwait(false);
            var many = await WritersBench.RunAsync(db, writers, events, batchSize, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"{events:N0} events, {batchSize:N0} a transaction, {Environment.ProcessorCount} cores");
            Console.Out.WriteLine(WritersBench.Describe(one));
            Console.Out.WriteLine(WritersBench.Describe(many));
            var cpu = (many.Events / (many.Cpu.Client + many.Cpu.Server)) / (one.Events / (one.Cpu.Client + one.Cpu.Server));
            Console.Out.WriteLine($"throughput {writers} writers ÷ 1: by wall {(many.EventsPerSecond / one.EventsPerSecond).ToString("F2", CultureInfo.InvariantCulture)} (target ≥ 1.3), " +
                $"events per CPU second {cpu.ToString("F2", CultureInfo.InvariantCulture)}; lock wait {(100 * many.LockShare).ToString("F1", CultureInfo.InvariantCulture)}% (target < 10%)");
            return CliOutput.Ok;
        }
        catch (Exception e) when (e is ArgumentException or Npgsql.NpgsqlException)
        {
            return CliOutput.Fail($"cannot run on '{CliOutput.Redact(db)}': {e.Message}", CliOutput.Usage);
        }
    }

    private static async Task<int> RunIngestAsync(int events, string? db, bool json, int batchSize, CancellationToken ct)
    {
        if (events <= 0 || batchSize <= 0)
        {
            return CliOutput.Fail("--events and --batch-size must be positive numbers", CliOutput.Usage);
        }
        string? tempFile = null;
        string? tenant = null;
        if (db is null)
        {
            db = tempFile = Path.Combine(Path.GetTempPath(), $"oneid-bench-{Guid.NewGuid():N}.db");
        }
        else if (StoreDatabase.LooksLikePostgres(db))
        {
            tenant = "bench_" + Guid.NewGuid().ToString("N")[..8]; // its own schema, dropped afterwards
        }
        else if (File.Exists(db))
        {
            return CliOutput.Fail($"'{db}' exists; the bench needs a new file (or leave out --db)", CliOutput.Usage);
        }

        StoreDatabase database;
        try
        {
            // The writer's state as an import keeps it (a hub's default is off); everything else as a hub opens the store.
            database = StoreDatabase.Open(db, tenant, SqliteTuning.Default with { WriterStateMegabytes = ImportCommand.DefaultWriterStateMegabytes });
        }
        catch (Exception e) when (e is ArgumentException or IOException)
        {
            return CliOutput.Fail($"cannot open '{CliOutput.Redact(db)}': {e.Message}", CliOutput.Usage);
        }
        try
        {
            await using var store = await SqlGraphStore.OpenAsync(database, ct).ConfigureAwait(false);
            var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
            // Both sides get their input generated before their clock starts.
            var stream = IngestWorkload.Generate(events, start).ToArray();
            var baselineRows = BaselineRows.From(stream);
            var meter = CpuMeter.For(database, db);

            // 1. OneId: observations through the rules, batched as `oneid import` batches them.
            SettleHeap();
            await meter.StartAsync(ct).ConfigureAwait(false);
            var gc = GcCounts.Now();
            var clock = Stopwatch.StartNew();
            long merges = 0, rows = 0;
            for (var i = 0; i < stream.Length; i += batchSize)
            {
                var batch = new ArraySegment<Observation>(stream, i, Math.Min(batchSize, stream.Length - i));
                foreach (var o in batch)
                {
                    rows += o.Identifiers.Count;
                }
                var results = await store.ObserveManyAsync(batch, ct).ConfigureAwait(false);
                merges += results.Count(r => r.Events.Any(e => e.Kind == GraphEventKind.Merged));
            }
            var seconds = clock.Elapsed.TotalSeconds;
            var ingestCpu = await meter.StopAsync(ct).ConfigureAwait(false);
            var ingestGc = GcCounts.Now() - gc;
            stream = null;

            // 2. The fair baselines: the same identifier rows upserted the fastest honest way on this store.
            var baselines = new List<(string Name, double Seconds, (double Client, double Server) Cpu)>();
            async Task Measure(string name, Func<Task<double>> run)
            {
                SettleHeap();
                await meter.StartAsync(ct).ConfigureAwait(false);
                var s = await run().ConfigureAwait(false);
                baselines.Add((name, s, await meter.StopAsync(ct).ConfigureAwait(false)));
            }
            if (database is PostgresDatabase pg)
            {
                await Measure("multi-row INSERT … ON CONFLICT, 1,000 rows a prepared statement, 10,000 a transaction",
                    () => IngestBaselines.PostgresMultiRowAsync(pg, baselineRows, ct)).ConfigureAwait(false);
                await Measure("binary COPY into a staging table + one INSERT … SELECT … ON CONFLICT, 10,000 rows a transaction",
                    () => IngestBaselines.PostgresCopyAsync(pg, baselineRows, ct)).ConfigureAwait(false);
            }
            else
            {
                await Measure("SQLite C API, one prepared upsert, positional binding of pre-encoded UTF-8, 10,000 rows a transaction",
                    () => IngestBaselines.SqliteCApiAsync(database, baselineRows, ct)).ConfigureAwait(false);
            }

            static double Cpu((double Client, double Server) c) => c.Client + c.Server;
            var eventsPerSecond = events / seconds;
            Console.Out.WriteLine($"store: {database.Description}");
            Console.Out.WriteLine($"oneid: {events:N0} observations, {batchSize:N0} a transaction ({merges:N0} merges, {rows:N0} identifier rows) in {seconds:F2} s: {eventsPerSecond:N0} events/s; cpu {CpuText(ingestCpu, meter)}");
            Console.Out.WriteLine($"  managed: {ingestGc.AllocatedBytes / (double)events:N0} B allocated an event; collections gen0 {ingestGc.Gen0:N0}, gen1 {ingestGc.Gen1:N0}, gen2 {ingestGc.Gen2:N0}; gc pause {ingestGc.Pause.TotalSeconds:F2} s");
            if (store.WriterStateCounters is { } ws)
            {
                Console.Out.WriteLine($"  writer state: {ws.KnownAbsent:N0} new keys known absent without a lookup, {ws.Collisions:N0} wrong hints, {ws.Drops:N0} drops{(ws.Overflowed ? ", over its memory bound" : "")}");
            }
            var headline = baselines[0];
            foreach (var (name, s, c) in baselines)
            {
                var rowsPerSecond = baselineRows.Count / s;
                Console.Out.WriteLine($"baseline {name}: {baselineRows.Count:N0} rows in {s:F2} s: {rowsPerSecond:N0} rows/s; cpu {CpuText(c, meter)}");
                Console.Out.WriteLine($"  ratio events/s ÷ baseline rows/s: by wall {(eventsPerSecond / rowsPerSecond).ToString("F3", CultureInfo.InvariantCulture)}, " +
                    $"by cpu {(events / Cpu(ingestCpu) / (baselineRows.Count / Cpu(c))).ToString("F3", CultureInfo.InvariantCulture)} (target ≥ 0.5)");
            }
            if (json)
            {
                var baselineRate = baselineRows.Count / headline.Seconds;
                CliOutput.WriteJson(new IngestFigures(events, Math.Round(seconds, 3), Math.Round(eventsPerSecond, 1),
                    Math.Round(baselineRate, 1), Math.Round(eventsPerSecond / baselineRate, 3),
                    Math.Round(events / Cpu(ingestCpu) / (baselineRows.Count / Cpu(headline.Cpu)), 3),
                    baselines.Count > 1 ? Math.Round(baselineRows.Count / baselines[1].Seconds, 1) : null));
            }
            return CliOutput.Ok;
        }
        finally
        {
            if (database is PostgresDatabase pg)
            {
                await using (var c = await pg.OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    await StoreDatabase.ExecuteAsync(c, null, $"DROP SCHEMA IF EXISTS {pg.Schema} CASCADE", CancellationToken.None).ConfigureAwait(false);
                }
            }
            await database.DisposeAsync().ConfigureAwait(false);
            if (tempFile is not null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                foreach (var f in new[] { tempFile, tempFile + "-wal", tempFile + "-shm" })
                {
                    File.Delete(f);
                }
            }
        }
    }

    // On a shared machine wall time follows the neighbours; CPU time mostly does not. On PostgreSQL the server's share
    // (its backends' CPU, read from /proc when the server runs on this machine) counts too.
    private static string CpuText((double Client, double Server) c, CpuMeter meter) =>
        meter.MeasuresServer ? $"{c.Client + c.Server:F2} s (client {c.Client:F2} + server {c.Server:F2})" : $"{c.Client:F2} s";

    /// <summary>
    /// Inputs generated just before a clock starts are still young: without this, the first collections inside the
    /// timed part would copy them to the old generation and bill that to whichever side runs first.
    /// </summary>
    private static void SettleHeap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    /// <summary>The process's garbage-collection counters, to show what the managed side costs per event.</summary>
    private readonly record struct GcCounts(long AllocatedBytes, int Gen0, int Gen1, int Gen2, TimeSpan Pause)
    {
        public static GcCounts Now() => new(GC.GetTotalAllocatedBytes(precise: false), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());

        public static GcCounts operator -(GcCounts a, GcCounts b) =>
            new(a.AllocatedBytes - b.AllocatedBytes, a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.Pause - b.Pause);
    }

    private sealed record IngestFigures(
        [property: JsonPropertyName("events")] long Events,
        [property: JsonPropertyName("seconds")] double Seconds,
        [property: JsonPropertyName("events_per_s")] double EventsPerSecond,
        [property: JsonPropertyName("baseline_rows_per_s")] double BaselineRowsPerSecond,
        [property: JsonPropertyName("ratio")] double Ratio,
        [property: JsonPropertyName("ratio_cpu")] double RatioByCpu,
        [property: JsonPropertyName("copy_baseline_rows_per_s")] double? CopyBaselineRowsPerSecond);
}
