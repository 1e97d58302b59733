using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OneId.Cli.Bench;
using OneId.Sandbox;
using OneId.Sandbox.Hosting;
using OneId.Sandbox.World;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench sandbox [--small 1000] [--large 200000] [--requests N] [--concurrency C] [--json]</c>: calls per second
/// of the sandbox's identity endpoints with a small and a large world, concurrent clients over loopback. The target is
/// that no endpoint runs slower than half its small-world speed in the large world; a trivial control endpoint
/// (GET /_sandbox/clock) of the same server is the floor of what loopback HTTP allows.
/// </summary>
internal static class BenchSandboxCommand
{
    private const string Oa = DemoWorld.OfficialAccount;
    private const string Mp = DemoWorld.MiniProgram;
    private const string Corp = DemoWorld.Corp;
    private const int Sampled = 2000;

    public static Command Create()
    {
        var small = new Option<int>("--small") { Description = "Users in the small world.", DefaultValueFactory = _ => 1000 };
        var large = new Option<int>("--large") { Description = "Users in the large world.", DefaultValueFactory = _ => 200_000 };
        var requests = new Option<int>("--requests") { Description = "Calls per endpoint and world.", DefaultValueFactory = _ => 5000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients.", DefaultValueFactory = _ => 32 };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var command = new Command("sandbox", "Sandbox calls/s with a small and a large world (token, jscode2session, user/info, batchget, externalcontact/get, batch/get_by_user).")
        {
            small, large, requests, concurrency, json,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(small), parse.GetValue(large), parse.GetValue(requests), parse.GetValue(concurrency), parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(int small, int large, int requests, int concurrency, bool json, CancellationToken ct)
    {
        if (small <= 0 || large <= 0 || requests <= 0 || concurrency <= 0)
        {
            return CliOutput.Fail("--small, --large, --requests and --concurrency must be positive", CliOutput.Usage);
        }
        Console.WriteLine($"oneid bench sandbox: {requests} calls per endpoint, {concurrency} concurrent clients over loopback");
        // A first, unreported pass over the small world warms the JIT, so neither world pays for it.
        await MeasureAsync(small, Math.Min(requests, 2000), concurrency, quiet: true, ct).ConfigureAwait(false);
        var smallFigures = await MeasureAsync(small, requests, concurrency, quiet: false, ct).ConfigureAwait(false);
        var largeFigures = await MeasureAsync(large, requests, concurrency, quiet: false, ct).ConfigureAwait(false);
        Console.WriteLine();
        Console.WriteLine($"  {"endpoint",-34} {small,12:N0} users {large,12:N0} users   ratio (goal ≥ 0.50)");
        var ratios = new Dictionary<string, double>();
        var errors = 0;
        foreach (var (name, figures) in smallFigures)
        {
            var big = largeFigures[name];
            var ratio = big.PerSecond / figures.PerSecond;
            ratios[name] = Math.Round(ratio, 3);
            errors += figures.Errors + big.Errors;
            Console.WriteLine($"  {name,-34} {figures.PerSecond,12:N0}/s     {big.PerSecond,12:N0}/s        {ratio.ToString("F2", CultureInfo.InvariantCulture)}");
        }
        if (json)
        {
            CliOutput.WriteJson(new Dictionary<string, object>
            {
                ["small_users"] = small, ["large_users"] = large, ["requests"] = requests, ["concurrency"] = concurrency, ["errors"] = errors,
                ["small_per_s"] = smallFigures.ToDictionary(f => f.Key, f => Math.Round(f.Value.PerSecond, 1)),
                ["large_per_s"] = largeFigures.ToDictionary(f => f.Key, f => Math.Round(f.Value.PerSecond, 1)),
                ["ratio"] = ratios,
            });
        }
        return errors == 0 ? CliOutput.Ok : CliOutput.Failed;
    }

    /// <summary>One world of <paramref name="users"/> users: half follow the OA, half are customers of the corp.</summary>
    private static async Task<Dictionary<string, LoadFigures>> MeasureAsync(int users, int requests, int concurrency, bool quiet, CancellationToken ct)
    {
        var options = new SandboxHostOptions
        {
            // The benchmark measures speed, not WeChat's quotas.
            Limits = new SandboxLimits
            {
                OtherAppTokenPerDay = int.MaxValue, Jscode2SessionPerUserPerMinute = int.MaxValue, StableTokenPerMinute = int.MaxValue,
                StableTokenPerDay = int.MaxValue, WeComApiPerMinute = int.MaxValue, WeComApiPerHour = int.MaxValue, WeComGetTokenPerMinute = int.MaxValue,
            },
        };
        await using var sandbox = await SandboxHost.StartAsync(DemoWorld.Create(), options, ct).ConfigureAwait(false);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2, UseProxy = false };
        using var http = new HttpClient(handler) { BaseAddress = sandbox.BaseAddress };

        var generated = await PostAsync(http, "_sandbox/generate", new JsonObject
        {
            ["users"] = users, ["seed"] = 11,
            ["follow"] = new JsonObject { [Oa] = 0.5 },
            ["contacts"] = new JsonObject { [Corp] = 0.5 },
        }, ct).ConfigureAwait(false);
        var prefix = generated["prefix"]!.GetValue<string>();
        var random = new Random(users);
        var sample = Enumerable.Range(0, Math.Min(Sampled, users)).Select(_ => prefix + random.Next(users).ToString(CultureInfo.InvariantCulture)).Distinct().ToList();

        // The answer key of the sampled users, read once before measuring (ids are derived inside the sandbox).
        var truths = new JsonObject[sample.Count];
        await LoadRunner.RunAsync(sample.Count, concurrency, async (i, c) =>
        {
            truths[i] = JsonNode.Parse(await http.GetStringAsync(new Uri("_sandbox/users/" + sample[i], UriKind.Relative), c).ConfigureAwait(false))!.AsObject();
            return true;
        }, ct).ConfigureAwait(false);
        var openids = truths.Select(t => t["openids"]![Oa]!.GetValue<string>()).ToArray();
        var customers = truths.Where(t => t["wecom_contacts"]!.AsArray().Count > 0).Select(t => t["external_userids"]![Corp]!.GetValue<string>()).ToArray();
        if (customers.Length == 0)
        {
            throw new InvalidOperationException("the generated world has no customers in the sample");
        }
        var codes = new string[requests + 1];
        await LoadRunner.RunAsync(codes.Length, concurrency, async (i, c) =>
        {
            var login = await PostAsync(http, $"_sandbox/users/{sample[i % sample.Count]}/login", new JsonObject { ["appid"] = Mp }, c).ConfigureAwait(false);
            codes[i] = login["code"]!.GetValue<string>();
            return true;
        }, ct).ConfigureAwait(false);

        var oaToken = (await PostAsync(http, "cgi-bin/stable_token", new JsonObject
        {
            ["grant_type"] = "client_credential", ["appid"] = Oa, ["secret"] = DemoWorld.SecretOf(Oa),
        }, ct).ConfigureAwait(false))["access_token"]!.GetValue<string>();
        var weComToken = JsonNode.Parse(await http.GetStringAsync(new Uri($"qyapi/cgi-bin/gettoken?corpid={Corp}&corpsecret=secret-crm", UriKind.Relative), ct).ConfigureAwait(false))!["access_token"]!.GetValue<string>();
        var batches = Enumerable.Range(0, 64).Select(b => new JsonObject
        {
            ["user_list"] = new JsonArray([.. Enumerable.Range(0, 100).Select(k => (JsonNode)new JsonObject { ["openid"] = openids[(b * 100 + k) % openids.Length], ["lang"] = "zh_CN" })]),
        }.ToJsonString()).ToArray();
        var cursors = new string[concurrency * 4];
        Array.Fill(cursors, "");

        async Task<bool> Call(HttpRequestMessage request, CancellationToken c)
        {
            using (request)
            {
                using var response = await http.SendAsync(request, c).ConfigureAwait(false);
                var body = await response.Content.ReadAsByteArrayAsync(c).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    return false;
                }
                using var doc = JsonDocument.Parse(body);
                return !doc.RootElement.TryGetProperty("errcode", out var code) || code.GetInt32() == 0;
            }
        }
        HttpRequestMessage Get(string path) => new(HttpMethod.Get, new Uri(path, UriKind.Relative));
        HttpRequestMessage Post(string path, string body) => new(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

        async Task<bool> GetByUser(int i, CancellationToken c)
        {
            // Each slot walks the members' customers page by page with the cursor, starting over at the end.
            var slot = i % cursors.Length;
            var body = new JsonObject { ["userid_list"] = new JsonArray("zhangsan", "lisi"), ["cursor"] = cursors[slot], ["limit"] = 100 }.ToJsonString();
            using var request = Post($"qyapi/cgi-bin/externalcontact/batch/get_by_user?access_token={weComToken}", body);
            using var response = await http.SendAsync(request, c).ConfigureAwait(false);
            var page = JsonNode.Parse(await response.Content.ReadAsStringAsync(c).ConfigureAwait(false))!;
            cursors[slot] = page["next_cursor"]?.GetValue<string>() ?? "";
            return page["errcode"]?.GetValue<int>() == 0;
        }

        var phases = new (string Name, Func<int, CancellationToken, Task<bool>> Operation)[]
        {
            ("GET /_sandbox/clock (floor)", (_, c) => Call(Get("_sandbox/clock"), c)),
            ("cgi-bin/token", (_, c) => Call(Get($"cgi-bin/token?grant_type=client_credential&appid={Mp}&secret={DemoWorld.SecretOf(Mp)}"), c)),
            ("sns/jscode2session", (i, c) => Call(Get($"sns/jscode2session?appid={Mp}&secret={DemoWorld.SecretOf(Mp)}&js_code={Uri.EscapeDataString(codes[i])}&grant_type=authorization_code"), c)),
            ("cgi-bin/user/info", (i, c) => Call(Get($"cgi-bin/user/info?access_token={oaToken}&openid={openids[i % openids.Length]}&lang=zh_CN"), c)),
            ("cgi-bin/user/info/batchget (100)", (i, c) => Call(Post($"cgi-bin/user/info/batchget?access_token={oaToken}", batches[i % batches.Length]), c)),
            ("externalcontact/get", (i, c) => Call(Get($"qyapi/cgi-bin/externalcontact/get?access_token={weComToken}&external_userid={customers[i % customers.Length]}"), c)),
            ("externalcontact/batch/get_by_user", GetByUser),
        };
        var figures = new Dictionary<string, LoadFigures>();
        if (!quiet)
        {
            Console.WriteLine($"world of {users:N0} users ({generated["customers"]} customers):");
        }
        foreach (var (name, operation) in phases)
        {
            // Warm-up: the first call of an id namespace builds its reverse index once.
            await operation(requests, ct).ConfigureAwait(false);
            figures[name] = await LoadRunner.RunAsync(requests, concurrency, operation, ct).ConfigureAwait(false);
            if (!quiet)
            {
                Console.WriteLine($"  {name,-34} {figures[name]}");
            }
        }
        return figures;
    }

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, JsonObject body, CancellationToken ct)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), content, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return response.IsSuccessStatusCode
            ? JsonNode.Parse(text)!.AsObject()
            : throw new InvalidOperationException($"{path} answered {(int)response.StatusCode}: {text}");
    }
}
