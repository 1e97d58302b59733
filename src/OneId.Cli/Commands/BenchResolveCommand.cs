using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Cli.Bench;
using OneId.Graph;
using OneId.Server;
using OneId.Server.Configuration;
using OneId.Server.Tenants;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench resolve [--persons P] [--requests N] [--concurrency C] [--rate R] [--db DB] [--json]</c>: GET /v1/resolve
/// against GET /healthz (a trivial endpoint) of the same server in the same run, by wall time and by CPU time; then a
/// paced phase at R resolves per second (default: half the peak just measured) for the latency at that load.
/// </summary>
internal static class BenchResolveCommand
{
    private const string AppId = "wx4f4bc4dec97d474b";

    public static Command Create()
    {
        var persons = new Option<int>("--persons") { Description = "Persons in the graph (openid + unionid each).", DefaultValueFactory = _ => 100_000 };
        var requests = new Option<int>("--requests") { Description = "Requests per phase.", DefaultValueFactory = _ => 50_000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients.", DefaultValueFactory = _ => 32 };
        var rate = new Option<string?>("--rate") { Description = "Resolves per second of the paced phase (default: half the measured peak)." };
        var db = new Option<string?>("--db") { Description = "The hub's store (default: a new temp SQLite file; Host=… for PostgreSQL)." };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var pacedClient = new Option<string>("--paced-client")
        {
            Description = "Where the paced phase's load generator runs: process (a child process, as callers are; default), thread (a dedicated thread of the hub's process), pool (Task.Delay on the hub's thread pool, the old way).",
            DefaultValueFactory = _ => "process",
        };
        pacedClient.AcceptOnlyFromAmong("process", "thread", "pool");
        var command = new Command("resolve", "GET /v1/resolve per second vs. a trivial endpoint of the same server.") { persons, requests, concurrency, rate, db, json, pacedClient };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(persons), parse.GetValue(requests), parse.GetValue(concurrency), parse.GetValue(rate), parse.GetValue(db), parse.GetValue(json), parse.GetValue(pacedClient)!, ct));
        return command;
    }

    private static string PacedClientText(string pacedClient) => pacedClient switch
    {
        "process" => "a child process, a dedicated pacer thread",
        "thread" => "a dedicated pacer thread in the hub's process",
        _ => "Task.Delay on the hub's thread pool",
    };

    private static object? JsonNumber(double value) => double.IsNaN(value) ? null : Math.Round(value, 2);

    private static string OpenId(int i) => "oBench" + i.ToString("D22", CultureInfo.InvariantCulture);

    private static async Task<int> RunAsync(int persons, int n, int concurrency, string? rateText, string? db, bool json, string pacedClient, CancellationToken ct)
    {
        if (persons <= 0 || n <= 0 || concurrency <= 0)
        {
            return CliOutput.Fail("--persons, --requests and --concurrency must be positive", CliOutput.Usage);
        }
        double? rate = null;
        if (rateText is not null)
        {
            if (!double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) || !(r > 0 && double.IsFinite(r)))
            {
                return CliOutput.Fail($"--rate must be a positive number of resolves per second, not '{rateText}'", CliOutput.Usage);
            }
            rate = r;
        }
        var folder = Path.Combine(Path.GetTempPath(), "oneid-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        const string key = "bench-admin-key-0123456789";
        try
        {
            await using var app = HubApplication.Build(new HubLaunch
            {
                Database = db ?? Path.Combine(folder, "bench.db"),
                Urls = ["http://127.0.0.1:0"],
                MinimumLogLevel = LogLevel.Error,
                Configure = o =>
                {
                    o.BootstrapKey = key;
                    o.Tenants.Clear();
                    o.Tenants.Add(new TenantOptions
                    {
                        Name = "bench", UnionSpaces = ["bench"],
                        Apps = [new AppOptions { AppId = AppId, Type = AppTypes.OfficialAccount, Secret = "unused", UnionSpace = "bench" }],
                    });
                },
            });
            try
            {
                await app.StartAsync(ct);
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException or IOException or ArgumentException or System.Net.Sockets.SocketException)
            {
                return CliOutput.Fail($"cannot open the store '{(db is null ? "a temp SQLite file" : CliOutput.Redact(db))}': {e.Message.ReplaceLineEndings(" ")}");
            }
            var graph = app.Services.GetRequiredService<TenantRegistry>().Get("bench")!.Graph;
            var now = DateTimeOffset.UtcNow;
            for (var start = 0; start < persons; start += 5000)
            {
                var batch = Enumerable.Range(start, Math.Min(5000, persons - start)).Select(i => new Observation(
                    [Identifier.Create(IdentifierType.OpenId, AppId, OpenId(i)), Identifier.Create(IdentifierType.UnionId, "bench", "oUnion" + i.ToString("D22", CultureInfo.InvariantCulture))],
                    "bench", now)).ToArray();
                await graph.ObserveManyAsync(batch, ct);
            }

            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 };
            using var client = new HttpClient(handler) { BaseAddress = new Uri(app.Urls.First()) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var random = new Random(7);
            var targets = Enumerable.Range(0, n).Select(_ => $"v1/resolve?id=openid:{AppId}:{OpenId(random.Next(persons))}").ToArray();

            async Task<bool> Get(string path, CancellationToken c)
            {
                using var r = await client.GetAsync(path, c);
                await r.Content.ReadAsByteArrayAsync(c);
                return r.IsSuccessStatusCode;
            }

            await LoadRunner.RunAsync(Math.Min(2000, n), concurrency, (i, c) => Get(targets[i], c), ct); // warm-up
            await LoadRunner.RunAsync(Math.Min(2000, n), concurrency, (_, c) => Get("healthz", c), ct);
            // CPU per request counts the bench's own HTTP client as well as the hub (both run in this process) and, on a
            // PostgreSQL server on this machine, the backends: on a shared machine it moves far less than wall time.
            var cpu = CpuMeter.For(db);
            await cpu.StartAsync(ct);
            var trivial = await LoadRunner.RunAsync(n, concurrency, (_, c) => Get("healthz", c), ct);
            var trivialCpu = await cpu.StopAsync(ct);
            await cpu.StartAsync(ct);
            var resolve = await LoadRunner.RunAsync(n, concurrency, (i, c) => Get(targets[i], c), ct);
            var resolveCpu = await cpu.StopAsync(ct);
            var ratio = resolve.PerSecond / trivial.PerSecond;
            var ratioCpu = (trivialCpu.Client + trivialCpu.Server) / (resolveCpu.Client + resolveCpu.Server);
            // The latency at a steady load the hub can carry: half the peak unless --rate says otherwise.
            var pacedRate = rate ?? resolve.PerSecond / 2;
            // The hub's own costs during the paced phase: with the client in another process, this process is the hub alone.
            var hub = HubCounters.Start();
            var tenant = app.Services.GetRequiredService<TenantRegistry>().Get("bench")!;
            long VersionReads() => (tenant.Graph as OneId.Storage.Graph.SqlGraphStore)?.VersionReads ?? 0;
            long RelationshipReads() => (tenant.Relationships as OneId.Storage.Relationships.SqlRelationshipStore)?.RelationshipReads ?? 0;
            var (versionReads, relationshipReads) = (VersionReads(), RelationshipReads());
            PacedRun paced;
            // Started after the warm-up and the peak phases, so it sees the paced requests only.
            using var latency = new HubLatencyRecorder();
            switch (pacedClient)
            {
                case "process":
                    var targetsFile = Path.Combine(folder, "targets.txt");
                    await File.WriteAllLinesAsync(targetsFile, targets, ct);
                    hub = HubCounters.Start();
                    paced = await BenchPacedClientCommand.RunInChildAsync(new Uri(app.Urls.First()), key, targetsFile, pacedRate, ct);
                    break;
                case "thread":
                    // In the hub's process the collections counted are the hub's too: there is no client's own to report.
                    paced = await PacedClient.RunAsync(new Uri(app.Urls.First()), key, targets, pacedRate, ct) with { ClientGcs = double.NaN, ClientGcPauseMs = double.NaN };
                    break;
                default:
                    var pooled = await LoadRunner.PacedAsync(n, pacedRate, (i, c) => Get(targets[i], c), ct);
                    paced = new PacedRun(pooled.Load, pooled.Rate, double.NaN, pooled.StartLateP99Ms, double.NaN, double.NaN, double.NaN, double.NaN);
                    break;
            }
            var hubDuring = hub.Stop(n);
            var hubLatency = latency.Stop();
            (versionReads, relationshipReads) = (VersionReads() - versionReads, RelationshipReads() - relationshipReads);
            string Us((double Client, double Server) c) =>
                (1e6 * (c.Client + c.Server) / n).ToString("F0", CultureInfo.InvariantCulture) + " µs CPU/request" + (cpu.MeasuresServer
                    ? $" (client {(1e6 * c.Client / n).ToString("F0", CultureInfo.InvariantCulture)} + server {(1e6 * c.Server / n).ToString("F0", CultureInfo.InvariantCulture)})" : "");
            Console.WriteLine($"oneid bench resolve: {persons} persons, {n} requests per phase, {concurrency} concurrent clients, store {(db is null ? "SQLite (temp file)" : CliOutput.Redact(db))}");
            Console.WriteLine($"  GET /healthz      {trivial}   {Us(trivialCpu)}");
            Console.WriteLine($"  GET /v1/resolve   {resolve}   {Us(resolveCpu)}");
            Console.WriteLine($"  ratio {ratio.ToString("F2", CultureInfo.InvariantCulture)} by wall, {ratioCpu.ToString("F2", CultureInfo.InvariantCulture)} by CPU (goal ≥ 0.5)");
            Console.WriteLine($"  paced at {pacedRate.ToString("F0", CultureInfo.InvariantCulture)}/s{(rate is null ? " (half the peak)" : "")}: {paced.Load}; starts late p99 {paced.StartLateP99Ms.ToString("F2", CultureInfo.InvariantCulture)} ms (goal p99 < 5 ms)");
            Console.WriteLine($"    client: {PacedClientText(pacedClient)}" + (double.IsNaN(paced.FromDueP99Ms) ? "" : FormattableString.Invariant(
                $"; from when each was due: p50 {paced.FromDueP50Ms:F2} ms, p99 {paced.FromDueP99Ms:F2} ms; starts late p50 {paced.StartLateP50Ms:F2} ms")));
            Console.WriteLine($"    {(pacedClient == "process" ? "hub" : "this process (hub + client)")} meanwhile: {hubDuring}; graph version reads {versionReads}, relationship reads {relationshipReads}");
            Console.WriteLine($"    {hubLatency}" + (double.IsNaN(paced.ClientGcPauseMs) ? "" : FormattableString.Invariant(
                $"; the client's own GC: {paced.ClientGcs} collections, {paced.ClientGcPauseMs:F1} ms paused")));
            Console.WriteLine($"    the hub's allocations, sampled: {hubLatency.AllocationText}");
            if (json)
            {
                CliOutput.WriteJson(new Dictionary<string, object?>
                {
                    ["persons"] = persons, ["requests"] = n, ["concurrency"] = concurrency,
                    ["resolves_per_s"] = Math.Round(resolve.PerSecond, 1), ["p50_ms"] = Math.Round(resolve.P50Ms, 2), ["p99_ms"] = Math.Round(resolve.P99Ms, 2),
                    ["errors"] = resolve.Errors,
                    ["trivial_per_s"] = Math.Round(trivial.PerSecond, 1), ["trivial_p99_ms"] = Math.Round(trivial.P99Ms, 2),
                    ["ratio"] = Math.Round(ratio, 3), ["ratio_cpu"] = Math.Round(ratioCpu, 3),
                    ["paced_rate"] = Math.Round(pacedRate, 1), ["paced_per_s"] = Math.Round(paced.Load.PerSecond, 1),
                    ["paced_p50_ms"] = Math.Round(paced.Load.P50Ms, 2), ["paced_p99_ms"] = Math.Round(paced.Load.P99Ms, 2),
                    ["paced_errors"] = paced.Load.Errors, ["paced_start_late_p99_ms"] = Math.Round(paced.StartLateP99Ms, 2),
                    ["paced_client"] = pacedClient,
                    ["paced_start_late_p50_ms"] = JsonNumber(paced.StartLateP50Ms),
                    ["paced_from_due_p50_ms"] = JsonNumber(paced.FromDueP50Ms), ["paced_from_due_p99_ms"] = JsonNumber(paced.FromDueP99Ms),
                    ["paced_process_cpu_us"] = Math.Round(hubDuring.CpuMicroseconds, 1), ["paced_process_alloc_bytes"] = Math.Round(hubDuring.AllocatedBytes),
                    ["paced_gc0"] = hubDuring.Gen0, ["paced_gc1"] = hubDuring.Gen1, ["paced_gc2"] = hubDuring.Gen2,
                    ["paced_gc_pause_ms"] = Math.Round(hubDuring.PauseMs, 1),
                    ["paced_server_p50_ms"] = Math.Round(hubLatency.P50Ms, 3), ["paced_server_p99_ms"] = Math.Round(hubLatency.P99Ms, 3),
                    ["paced_server_max_ms"] = Math.Round(hubLatency.MaxMs, 2), ["paced_server_requests"] = hubLatency.Requests,
                    ["paced_server_over_5ms"] = hubLatency.Over5Ms, ["paced_gc_pauses"] = hubLatency.GcPauses,
                    ["paced_gc_longest_pause_ms"] = Math.Round(hubLatency.LongestGcPauseMs, 2),
                    ["paced_client_gcs"] = JsonNumber(paced.ClientGcs), ["paced_client_gc_pause_ms"] = JsonNumber(paced.ClientGcPauseMs),
                    ["paced_version_reads"] = versionReads, ["paced_relationship_reads"] = relationshipReads,
                });
            }
            await app.StopAsync(CancellationToken.None);
            return resolve.Errors == 0 && paced.Load.Errors == 0 ? CliOutput.Ok : CliOutput.Failed;
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
