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
        bench.Subcommands.Add(BenchLoginCommand.Create());
        bench.Subcommands.Add(BenchResolveCommand.Create());
        bench.Subcommands.Add(BenchSandboxCommand.Create());
        return bench;
    }

    private static Command CreateIngest()
    {
        var events = new Option<int>("--events") { Description = "How many observations to generate and ingest", DefaultValueFactory = _ => 200_000 };
        var db = new Option<string?>("--db") { Description = "Store to measure: a new SQLite file (default: a temp file) or a PostgreSQL connection string" };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures" };
        var command = new Command("ingest", "Ingest a generated stream (creates, links, merges) and compare with a plain upsert of the same rows.") { events, db, json };
        command.SetAction((parse, ct) => RunIngestAsync(parse.GetValue(events), parse.GetValue(db), parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunIngestAsync(int events, string? db, bool json, CancellationToken ct)
    {
        if (events <= 0)
        {
            return CliOutput.Fail("--events must be a positive number", CliOutput.Usage);
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
            database = StoreDatabase.Open(db, tenant);
        }
        catch (Exception e) when (e is ArgumentException or IOException)
        {
            return CliOutput.Fail($"cannot open '{CliOutput.Redact(db)}': {e.Message}", CliOutput.Usage);
        }
        try
        {
            await using var store = await SqlGraphStore.OpenAsync(database, ct).ConfigureAwait(false);
            var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

            // 1. OneId: observations through the rules, batched as `oneid import` batches them.
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var batch = new List<Observation>(5_000);
            long merges = 0, rows = 0;
            foreach (var o in IngestWorkload.Generate(events, start))
            {
                batch.Add(o);
                rows += o.Identifiers.Count;
                if (batch.Count == batch.Capacity)
                {
                    merges += await FlushAsync(store, batch, ct).ConfigureAwait(false);
                }
            }
            merges += await FlushAsync(store, batch, ct).ConfigureAwait(false);
            var seconds = clock.Elapsed.TotalSeconds;
            var ingestCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            cpu = Process.GetCurrentProcess().TotalProcessorTime;

            // 2. Baseline: the same identifier rows, in arrival order, upserted into a bare keyed table, 10,000 a transaction.
            var baselineSeconds = await RawUpsertAsync(database, IngestWorkload.Generate(events, start), ct).ConfigureAwait(false);
            var baselineCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;

            var result = new IngestFigures(events, Math.Round(seconds, 3), Math.Round(events / seconds, 1),
                Math.Round(rows / baselineSeconds, 1), Math.Round(events / seconds / (rows / baselineSeconds), 3));
            Console.Out.WriteLine($"store: {database.Description}");
            Console.Out.WriteLine($"ingested {events:N0} observations ({merges:N0} merges, {rows:N0} identifier rows) in {seconds:F2} s: {result.EventsPerSecond:N0} events/s");
            Console.Out.WriteLine($"baseline plain upsert of the same rows: {rows:N0} rows in {baselineSeconds:F2} s: {result.BaselineRowsPerSecond:N0} rows/s");
            Console.Out.WriteLine($"ratio events/s ÷ baseline rows/s: {result.Ratio.ToString("F3", CultureInfo.InvariantCulture)}");
            // On a shared machine wall time follows the neighbours; CPU time of this process mostly does not.
            Console.Out.WriteLine($"cpu seconds: ingest {ingestCpu:F2}, baseline {baselineCpu:F2}; ratio by cpu time: {(events / ingestCpu / (rows / baselineCpu)).ToString("F3", CultureInfo.InvariantCulture)}");
            if (json)
            {
                CliOutput.WriteJson(result);
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

    private static async Task<long> FlushAsync(SqlGraphStore store, List<Observation> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
        {
            return 0;
        }
        var results = await store.ObserveManyAsync(batch, ct).ConfigureAwait(false);
        batch.Clear();
        return results.Count(r => r.Events.Any(e => e.Kind == GraphEventKind.Merged));
    }

    private static async Task<double> RawUpsertAsync(StoreDatabase database, IEnumerable<Observation> stream, CancellationToken ct)
    {
        await database.MigrateAsync([new Migration("bench/001-raw",
            "CREATE TABLE bench_raw (type TEXT NOT NULL, ns TEXT NOT NULL, value TEXT NOT NULL, seen BIGINT NOT NULL, PRIMARY KEY (type, ns, value))",
            "CREATE TABLE bench_raw (type TEXT NOT NULL, ns TEXT NOT NULL, value TEXT NOT NULL, seen BIGINT NOT NULL, PRIMARY KEY (type, ns, value))")], ct).ConfigureAwait(false);
        var rows = stream.SelectMany(o => o.Identifiers.Select(i => (i, o.At.ToUnixTimeMilliseconds())));
        var clock = Stopwatch.StartNew();
        using var e = rows.GetEnumerator();
        var more = true;
        while (more)
        {
            more = await database.WriteAsync(async (connection, tx) =>
            {
                await using var cmd = connection.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT INTO bench_raw (type, ns, value, seen) VALUES (@t, @n, @v, @s) ON CONFLICT (type, ns, value) DO UPDATE SET seen = excluded.seen";
                var t = StoreDatabase.AddParameter(cmd, "t", null);
                var n = StoreDatabase.AddParameter(cmd, "n", null);
                var v = StoreDatabase.AddParameter(cmd, "v", null);
                var s = StoreDatabase.AddParameter(cmd, "s", null);
                for (var k = 0; k < 10_000; k++)
                {
                    if (!e.MoveNext())
                    {
                        return false;
                    }
                    var (id, seen) = e.Current;
                    t.Value = id.Type.Name;
                    n.Value = id.Namespace;
                    v.Value = id.Value;
                    s.Value = seen;
                    await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
                return true;
            }, ct).ConfigureAwait(false);
        }
        // Generating the rows is part of the loop above but costs the same on both sides; it is well under 5 % here.
        return clock.Elapsed.TotalSeconds;
    }

    private sealed record IngestFigures(
        [property: JsonPropertyName("events")] long Events,
        [property: JsonPropertyName("seconds")] double Seconds,
        [property: JsonPropertyName("events_per_s")] double EventsPerSecond,
        [property: JsonPropertyName("baseline_rows_per_s")] double BaselineRowsPerSecond,
        [property: JsonPropertyName("ratio")] double Ratio);
}
