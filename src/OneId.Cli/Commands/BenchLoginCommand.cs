using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OneId.Cli.Bench;
using OneId.DemoWiring;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench login [--logins N] [--concurrency C] [--json]</c>: drives POST /v1/mp/{appid}/login through the
/// in-process sandbox and compares it with the sandbox's own jscode2session rate in the same run.
/// </summary>
internal static class BenchLoginCommand
{
    public static Command Create()
    {
        var logins = new Option<int>("--logins") { Description = "Logins to measure (each a new user: a graph write).", DefaultValueFactory = _ => 5000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients.", DefaultValueFactory = _ => 32 };
        var db = new Option<string?>("--db") { Description = "The hub's store (default: a new temp SQLite file)." };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var command = new Command("login", "MP logins/s through the hub vs. the sandbox's jscode2session/s.") { logins, concurrency, db, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(logins), parse.GetValue(concurrency), parse.GetValue(db), parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(int n, int concurrency, string? db, bool json, CancellationToken ct)
    {
        if (n <= 0 || concurrency <= 0)
        {
            return CliOutput.Fail("--logins and --concurrency must be positive", CliOutput.Usage);
        }
        var folder = Path.Combine(Path.GetTempPath(), "oneid-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            // Corps are left out: the idconvert follow-up of a new unionid is its own WeCom call, not part of a login.
            await using var running = await SandboxedHub.StartAsync(db ?? Path.Combine(folder, "bench.db"), 0, 0, o => o.Tenants[0].Corps.Clear(), LogLevel.Error, ct);
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 };
            using var sandbox = new HttpClient(handler, disposeHandler: false) { BaseAddress = running.Sandbox.BaseAddress };
            using var hub = new HttpClient(handler, disposeHandler: false) { BaseAddress = running.HubAddress };
            var generated = await (await sandbox.PostAsJsonAsync("_sandbox/generate", new { users = 2 * n + 10, seed = 42 }, ct)).Content.ReadFromJsonAsync<JsonElement>(ct);
            var prefix = generated.GetProperty("prefix").GetString()!;

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

            // Warm up both paths (JIT, connections, the hub's token and migrations).
            var warm = await CodesAsync(2 * n, 10);
            for (var i = 0; i < warm.Length; i++)
            {
                await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code = warm[i] }, ct);
            }

            var baselineCodes = await CodesAsync(0, n);
            var secret = Demo.SecretOf(Demo.MiniProgram);
            var baseline = await LoadRunner.RunAsync(n, concurrency, async (i, c) =>
            {
                using var r = await sandbox.GetAsync($"sns/jscode2session?appid={Demo.MiniProgram}&secret={secret}&js_code={baselineCodes[i]}&grant_type=authorization_code", c);
                return r.IsSuccessStatusCode && !(await r.Content.ReadAsStringAsync(c)).Contains("errcode", StringComparison.Ordinal);
            }, ct);

            var loginCodes = await CodesAsync(n, n);
            var login = await LoadRunner.RunAsync(n, concurrency, async (i, c) =>
            {
                using var r = await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code = loginCodes[i] }, c);
                return r.IsSuccessStatusCode;
            }, ct);

            var ratio = login.PerSecond / baseline.PerSecond;
            Console.WriteLine($"oneid bench login: {n} new-user logins, {concurrency} concurrent clients, store {(db is null ? "SQLite (temp file)" : CliOutput.Redact(db))}");
            Console.WriteLine($"  sandbox jscode2session  {baseline}");
            Console.WriteLine($"  hub POST /v1/mp/login   {login}");
            Console.WriteLine($"  ratio {ratio.ToString("F2", CultureInfo.InvariantCulture)} (goal ≥ 0.5)");
            if (json)
            {
                CliOutput.WriteJson(new Dictionary<string, object>
                {
                    ["logins"] = n, ["concurrency"] = concurrency,
                    ["logins_per_s"] = Math.Round(login.PerSecond, 1), ["p50_ms"] = Math.Round(login.P50Ms, 2), ["p99_ms"] = Math.Round(login.P99Ms, 2),
                    ["errors"] = login.Errors,
                    ["jscode2session_per_s"] = Math.Round(baseline.PerSecond, 1), ["jscode2session_p99_ms"] = Math.Round(baseline.P99Ms, 2),
                    ["ratio"] = Math.Round(ratio, 3),
                });
            }
            return login.Errors == 0 ? CliOutput.Ok : CliOutput.Failed;
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
