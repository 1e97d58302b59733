using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OneId.Cli.Bench;
using OneId.DemoWiring;
using OneId.Storage;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench login [--logins N] [--concurrency C] [--hubs H] [--db …] [--json]</c>: drives POST
/// /v1/mp/{appid}/login through the in-process sandbox and compares it with the sandbox's own jscode2session rate in
/// the same run, by wall clock and by CPU. With <c>--hubs H</c> (H &gt; 1) a last phase spreads the same number of
/// logins over H hub instances on one database (each its own host, DI container and connection pool), as a burst on
/// a deployment of H machines would, and compares it with the one-hub phase.
/// </summary>
internal static class BenchLoginCommand
{
    public const int MaxHubs = 16;

    public static Command Create()
    {
        var logins = new Option<int>("--logins") { Description = "Logins to measure (each a new user: a graph write).", DefaultValueFactory = _ => 5000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients.", DefaultValueFactory = _ => 32 };
        var hubs = new Option<int>("--hubs") { Description = $"Also measure the logins spread over this many hub instances on one database (1–{MaxHubs}; PostgreSQL is what a deployment of several would share).", DefaultValueFactory = _ => 1 };
        var db = new Option<string?>("--db") { Description = "The hub's store (default: a new temp SQLite file)." };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var command = new Command("login", "MP logins/s through the hub vs. the sandbox's jscode2session/s.") { logins, concurrency, hubs, db, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(logins), parse.GetValue(concurrency), parse.GetValue(hubs), parse.GetValue(db), parse.GetValue(json), ct));
        return command;
    }

    private sealed record LoginRequest([property: System.Text.Json.Serialization.JsonPropertyName("code")] string Code);

    private sealed record Phase(LoadFigures Load, (double Client, double Server) Cpu, long AllocatedBytes, int Gen0, int Gen2)
    {
        public double CpuSeconds => Cpu.Client + Cpu.Server;

        /// <summary>Operations per CPU second of this process (sandbox, hubs and clients) and the database's backends.</summary>
        public double PerCpuSecond => Load.Requests / Math.Max(CpuSeconds, 1e-9);

        public string CpuText(CpuMeter meter) =>
            $"cpu {CpuSeconds.ToString("F2", CultureInfo.InvariantCulture)} s" + (meter.MeasuresServer ? $" (process {Cpu.Client.ToString("F2", CultureInfo.InvariantCulture)} + server {Cpu.Server.ToString("F2", CultureInfo.InvariantCulture)})" : "")
            + $", {AllocatedBytes / 1024.0 / Math.Max(1, Load.Requests):F1} KB allocated each, GCs {Gen0} ({Gen2} gen 2)";
    }

    private static async Task<int> RunAsync(int n, int concurrency, int hubCount, string? db, bool json, CancellationToken ct)
    {
        if (n <= 0 || concurrency <= 0)
        {
            return CliOutput.Fail("--logins and --concurrency must be positive", CliOutput.Usage);
        }
        if (hubCount is < 1 or > MaxHubs)
        {
            return CliOutput.Fail($"--hubs must be between 1 and {MaxHubs}", CliOutput.Usage);
        }
        var folder = Path.Combine(Path.GetTempPath(), "oneid-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            var store = db ?? Path.Combine(folder, "bench.db");
            // Corps are left out: the idconvert follow-up of a new unionid is its own WeCom call, not part of a login.
            await using var running = await SandboxedHub.StartAsync(store, 0, 0, o => o.Tenants[0].Corps.Clear(), LogLevel.Error, ct);
            var hubAddresses = new List<Uri> { running.HubAddress };
            while (hubAddresses.Count < hubCount)
            {
                hubAddresses.Add(await running.StartAnotherHubAsync(ct));
            }
            await using var meterDb = StoreDatabase.Open(store, SandboxMode.Tenant);
            var meter = CpuMeter.For(meterDb, store);
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 };
            using var sandbox = new HttpClient(handler, disposeHandler: false) { BaseAddress = running.Sandbox.BaseAddress };
            var hubClients = hubAddresses.Select(a => new HttpClient(handler, disposeHandler: false) { BaseAddress = a }).ToArray();
            using var disposeClients = new Disposer(hubClients);
            var hub = hubClients[0];
            var phases = hubCount > 1 ? 3 : 2;
            var generated = await (await sandbox.PostAsJsonAsync("_sandbox/generate", new { users = phases * n + 10 * hubCount, seed = 42 }, ct)).Content.ReadFromJsonAsync<JsonElement>(ct);
            var prefix = generated.GetProperty("prefix").GetString()!;

            // A Mini Program's wx.request has its JSON whole and sends it with a Content-Length. PostAsJsonAsync would
            // stream it chunked, which costs the hub Kestrel's chunked-body pump and the client its chunk framing.
            static ByteArrayContent LoginBody(string code) =>
                new(JsonSerializer.SerializeToUtf8Bytes(new LoginRequest(code))) { Headers = { ContentType = new("application/json") } };

            // Codes are made before each phase (not timed): both phases measure only the call under test.
            async Task<string[]> CodesAsync(int offset, int count)
            {
                var codes = new string[count];
                await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct }, async (i, c) =>
                {
                    using var r = await sandbox.PostAsJsonAsync($"_sandbox/users/{prefix}{offset + i}/login", new { appid = Demo.MiniProgram }, c);
                    var body = await r.Content.ReadAsStringAsync(c);
                    codes[i] = r.IsSuccessStatusCode
                        ? JsonDocument.Parse(body).RootElement.GetProperty("code").GetString()!
                        : throw new InvalidOperationException($"the sandbox refused a login code: {body}");
                });
                return codes;
            }

            async Task<Phase> MeasureAsync(Func<int, CancellationToken, Task<bool>> operation)
            {
                var (allocated, gen0, gen2) = (GC.GetTotalAllocatedBytes(), GC.CollectionCount(0), GC.CollectionCount(2));
                await meter.StartAsync(ct);
                var load = await LoadRunner.RunAsync(n, concurrency, operation, ct);
                var cpu = await meter.StopAsync(ct);
                return new Phase(load, cpu, GC.GetTotalAllocatedBytes() - allocated, GC.CollectionCount(0) - gen0, GC.CollectionCount(2) - gen2);
            }

            // Warm up both paths on every hub (JIT, connections, the hub's token and migrations).
            var warm = await CodesAsync(phases * n, 10 * hubCount);
            for (var i = 0; i < warm.Length; i++)
            {
                await hubClients[i % hubCount].PostAsync($"v1/mp/{Demo.MiniProgram}/login", LoginBody(warm[i]), ct);
            }

            var baselineCodes = await CodesAsync(0, n);
            var secret = Demo.SecretOf(Demo.MiniProgram);
            var baseline = await MeasureAsync(async (i, c) =>
            {
                using var r = await sandbox.GetAsync($"sns/jscode2session?appid={Demo.MiniProgram}&secret={secret}&js_code={baselineCodes[i]}&grant_type=authorization_code", c);
                return r.IsSuccessStatusCode && !(await r.Content.ReadAsStringAsync(c)).Contains("errcode", StringComparison.Ordinal);
            });

            var loginCodes = await CodesAsync(n, n);
            var one = await MeasureAsync(async (i, c) =>
            {
                using var r = await hub.PostAsync($"v1/mp/{Demo.MiniProgram}/login", LoginBody(loginCodes[i]), c);
                return r.IsSuccessStatusCode;
            });

            Phase? many = null;
            if (hubCount > 1)
            {
                var spreadCodes = await CodesAsync(2 * n, n);
                many = await MeasureAsync(async (i, c) =>
                {
                    using var r = await hubClients[i % hubCount].PostAsync($"v1/mp/{Demo.MiniProgram}/login", LoginBody(spreadCodes[i]), c);
                    return r.IsSuccessStatusCode;
                });
            }

            static string F(double x) => x.ToString("F2", CultureInfo.InvariantCulture);
            var login = one.Load;
            var ratio = login.PerSecond / baseline.Load.PerSecond;
            var cpuRatio = one.PerCpuSecond / baseline.PerCpuSecond;
            Console.WriteLine($"oneid bench login: {n} new-user logins, {concurrency} concurrent clients, store {(db is null ? "SQLite (temp file)" : CliOutput.Redact(db))}");
            Console.WriteLine($"  sandbox jscode2session  {baseline.Load}   {baseline.CpuText(meter)}");
            Console.WriteLine($"  hub POST /v1/mp/login   {login}   {one.CpuText(meter)}");
            Console.WriteLine($"  ratio {F(ratio)} by wall, {F(cpuRatio)} by CPU (goal ≥ 0.35)");
            if (many is not null)
            {
                Console.WriteLine($"  {hubCount} hubs, one database  {many.Load}   {many.CpuText(meter)}");
                Console.WriteLine($"  {hubCount} hubs ÷ 1 hub: {F(many.Load.PerSecond / login.PerSecond)} by wall (goal ≥ 1), {F(many.PerCpuSecond / one.PerCpuSecond)} per CPU second");
            }
            if (json)
            {
                var figures = new Dictionary<string, object>
                {
                    ["logins"] = n, ["concurrency"] = concurrency, ["hubs"] = hubCount,
                    ["logins_per_s"] = Math.Round(login.PerSecond, 1), ["p50_ms"] = Math.Round(login.P50Ms, 2), ["p99_ms"] = Math.Round(login.P99Ms, 2),
                    ["errors"] = login.Errors, ["cpu_s"] = Math.Round(one.CpuSeconds, 3),
                    ["jscode2session_per_s"] = Math.Round(baseline.Load.PerSecond, 1), ["jscode2session_p99_ms"] = Math.Round(baseline.Load.P99Ms, 2),
                    ["jscode2session_cpu_s"] = Math.Round(baseline.CpuSeconds, 3),
                    ["ratio"] = Math.Round(ratio, 3), ["cpu_ratio"] = Math.Round(cpuRatio, 3),
                };
                if (many is not null)
                {
                    figures["hubs_logins_per_s"] = Math.Round(many.Load.PerSecond, 1);
                    figures["hubs_errors"] = many.Load.Errors;
                    figures["hubs_cpu_s"] = Math.Round(many.CpuSeconds, 3);
                    figures["hubs_ratio"] = Math.Round(many.Load.PerSecond / login.PerSecond, 3);
                }
                CliOutput.WriteJson(figures);
            }
            return login.Errors == 0 && (many?.Load.Errors ?? 0) == 0 ? CliOutput.Ok : CliOutput.Failed;
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

/// <summary>Disposes several things at the end of a scope.</summary>
internal sealed class Disposer(IEnumerable<IDisposable> items) : IDisposable
{
    public void Dispose()
    {
        foreach (var item in items)
        {
            item.Dispose();
        }
    }
}
