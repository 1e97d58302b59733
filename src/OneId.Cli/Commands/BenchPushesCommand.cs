using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Cli.Bench;
using OneId.DemoWiring;
using OneId.Graph;
using OneId.Server.Tenants;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench pushes [--follows N] [--concurrency C] [--slow-user-info-ms D] [--db …] [--json]</c>: N users follow
/// the OA in a burst; the sandbox pushes each follow to the hub as WeChat does (signed, encrypted, 5 s timeout, 3
/// attempts); the bench tails the graph's event log and times each follow from the moment the user followed to the
/// moment its openid is in the graph: once for the burst (where the queue dominates), once paced at 20 follows/s. With <c>--slow-user-info-ms</c> every <c>cgi-bin/user/info</c> call is slowed
/// past WeChat's 5 s push timeout, the case that used to lose follows. The figure that must be 0 is "lost".
/// </summary>
internal static class BenchPushesCommand
{
    private const int Paced = 200;
    private const int PacedRate = 20;

    public static Command Create()
    {
        var follows = new Option<int>("--follows") { Description = "Users who follow the OA in the burst.", DefaultValueFactory = _ => 2000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Follows in flight at once.", DefaultValueFactory = _ => 32 };
        var slow = new Option<int>("--slow-user-info-ms") { Description = "Delay every cgi-bin/user/info answer by this many ms (0: WeChat answers at once).", DefaultValueFactory = _ => 0 };
        var db = new Option<string?>("--db") { Description = "The hub's store (default: a new temp SQLite file)." };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var command = new Command("pushes", "Follow pushes from the sandbox to the graph: latency per follow and follows lost.") { follows, concurrency, slow, db, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(follows), parse.GetValue(concurrency), parse.GetValue(slow), parse.GetValue(db), parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(int n, int concurrency, int slowMs, string? db, bool json, CancellationToken ct)
    {
        if (n <= 0 || concurrency <= 0 || slowMs < 0)
        {
            return CliOutput.Fail("--follows and --concurrency must be positive, --slow-user-info-ms not negative", CliOutput.Usage);
        }
        var folder = Path.Combine(Path.GetTempPath(), "oneid-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            await using var running = await SandboxedHub.StartAsync(db ?? Path.Combine(folder, "bench.db"), 0, 0, o => o.Tenants[0].Corps.Clear(), LogLevel.Critical, ct);
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 };
            using var sandbox = new HttpClient(handler, disposeHandler: false) { BaseAddress = running.Sandbox.BaseAddress };
            var generated = await (await sandbox.PostAsJsonAsync("_sandbox/generate", new { users = n + Paced, seed = 77 }, ct)).Content.ReadFromJsonAsync<JsonElement>(ct);
            var prefix = generated.GetProperty("prefix").GetString()!;
            if (slowMs > 0)
            {
                using var fault = await sandbox.PostAsJsonAsync("_sandbox/faults", new { path = "/cgi-bin/user/info", delay_ms = slowMs, times = n * 3 }, ct);
                fault.EnsureSuccessStatusCode();
            }

            // The graph's event log, tailed: when did each OA openid first appear in a person?
            var graph = running.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!.Graph;
            var seen = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
            using var stopTail = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var tail = Task.Run(async () =>
            {
                long after = 0; // a fresh store
                while (!stopTail.IsCancellationRequested)
                {
                    var events = await graph.ReadEventsAsync(after, 1000, stopTail.Token);
                    var now = Stopwatch.GetTimestamp();
                    foreach (var e in events)
                    {
                        foreach (var id in e.Identifiers.Where(i => i.Type == IdentifierType.OpenId && i.Namespace == Demo.OfficialAccount))
                        {
                            seen.TryAdd(id.Value, now);
                        }
                        after = e.Sequence;
                    }
                    if (events.Count == 0)
                    {
                        await Task.Delay(1, stopTail.Token);
                    }
                }
            }, stopTail.Token);

            var followedAt = new long[n + Paced];
            var openIds = new string?[n + Paced];
            async Task<bool> Follow(int i, CancellationToken c)
            {
                followedAt[i] = Stopwatch.GetTimestamp();
                using var r = await sandbox.PostAsJsonAsync($"_sandbox/users/{prefix}{i.ToString(CultureInfo.InvariantCulture)}/follow", new { appid = Demo.OfficialAccount }, c);
                if (!r.IsSuccessStatusCode)
                {
                    return false;
                }
                openIds[i] = (await r.Content.ReadFromJsonAsync<JsonElement>(c)).GetProperty("openid").GetString()!;
                return true;
            }

            // A follow is lost when it is not in the graph once nothing is left to try: the sandbox has no push
            // pending (delivered, or given up after WeChat's 3 attempts) and the hub's inbox has nothing pending.
            var tenant = running.Hub.Services.GetRequiredService<TenantRegistry>().Get(SandboxMode.Tenant)!;
            async Task<bool> SettledAsync()
            {
                var pushes = await sandbox.GetFromJsonAsync<JsonElement>("_sandbox/pushes", ct);
                return pushes.EnumerateArray().All(p => p.GetProperty("status").GetString() != "pending")
                    && (await tenant.Inbox.StatsAsync(ct)).Pending == 0;
            }
            async Task<double[]> ArrivedAsync(int from, int count)
            {
                bool Missing() => Enumerable.Range(from, count).Any(i => openIds[i] is not { } o || !seen.ContainsKey(o));
                while (Missing() && !await SettledAsync())
                {
                    await Task.Delay(100, ct);
                }
                if (Missing())
                {
                    await Task.Delay(500, ct); // the tail's last read
                }
                return Enumerable.Range(from, count).Where(i => openIds[i] is { } o && seen.ContainsKey(o))
                    .Select(i => Stopwatch.GetElapsedTime(followedAt[i], seen[openIds[i]!]).TotalMilliseconds).Order().ToArray();
            }

            // 1. The burst: as many follows as the sandbox takes; every one must reach the graph.
            var clock = Stopwatch.StartNew();
            var burst = await LoadRunner.RunAsync(n, concurrency, Follow, ct);
            var burstLatencies = await ArrivedAsync(0, n);
            var drained = clock.Elapsed.TotalSeconds;
            var lost = n - burstLatencies.Length;

            // 2. Paced: one follow every 1/PacedRate s, so that the latency is a push's own, not the burst's queue.
            // Skipped when user/info is slowed: then every push waits on WeChat and the inbox's concurrency is the limit.
            var pacedErrors = 0;
            var pacedStart = Stopwatch.GetTimestamp();
            var inFlight = new List<Task>();
            var pacedCount = slowMs == 0 ? Paced : 0;
            for (var k = 0; k < pacedCount; k++)
            {
                var due = TimeSpan.FromSeconds((double)k / PacedRate) - Stopwatch.GetElapsedTime(pacedStart);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, ct);
                }
                var i = n + k;
                inFlight.Add(Task.Run(async () =>
                {
                    if (!await Follow(i, ct))
                    {
                        Interlocked.Increment(ref pacedErrors);
                    }
                }, ct));
            }
            await Task.WhenAll(inFlight);
            var paced = await ArrivedAsync(n, pacedCount);
            lost += pacedCount - paced.Length;

            await stopTail.CancelAsync();
            try
            {
                await tail;
            }
            catch (OperationCanceledException)
            {
            }

            static double P(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
            Console.WriteLine($"oneid bench pushes: OA follows pushed by the sandbox, cgi-bin/user/info {(slowMs == 0 ? "answering at once" : $"delayed {slowMs} ms")}, store {(db is null ? "SQLite (temp file)" : CliOutput.Redact(db))}");
            Console.WriteLine($"  burst of {n:N0} ({concurrency} at once): sent at {burst.PerSecond:N0}/s, all in the graph after {drained:F2} s ({n / drained:N0} follows/s); " +
                $"follow → in graph p50 {P(burstLatencies, 0.50):F0} ms, p99 {P(burstLatencies, 0.99):F0} ms (queueing included)");
            if (pacedCount > 0)
            {
                Console.WriteLine($"  paced, {Paced} at {PacedRate}/s: follow → in graph p50 {P(paced, 0.50):F1} ms, p99 {P(paced, 0.99):F1} ms, max {(paced.Length == 0 ? double.NaN : paced[^1]):F1} ms");
            }
            var inbox = await tenant.Inbox.StatsAsync(ct);
            Console.WriteLine($"  lost {lost} (goal 0); refused by the sandbox {burst.Errors + pacedErrors}; dead letters in the inbox {inbox.Dead}");
            if (json)
            {
                CliOutput.WriteJson(new Dictionary<string, object>
                {
                    ["follows"] = n, ["concurrency"] = concurrency, ["slow_user_info_ms"] = slowMs,
                    ["burst_follows_per_s"] = Math.Round(n / drained, 1), ["burst_p99_ms"] = Math.Round(P(burstLatencies, 0.99), 1),
                    ["paced_p50_ms"] = Math.Round(P(paced, 0.50), 2), ["paced_p99_ms"] = Math.Round(P(paced, 0.99), 2), ["lost"] = lost,
                });
            }
            return lost == 0 && burst.Errors + pacedErrors == 0 ? CliOutput.Ok : CliOutput.Failed;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
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
