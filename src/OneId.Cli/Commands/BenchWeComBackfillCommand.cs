using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Server.Application;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench wecom-backfill [--customers N] [--members M] [--db …] [--json]</c>: the existing-customer backfill
/// (S17) of N customers spread over M members, run as a job through the hub against the sandbox. It counts the WeCom
/// calls the job made against the fewest the API's page sizes allow — one get_follow_user_list, then per group of
/// 100 members ceil(customers of the group / 100) batch/get_by_user calls (at least one) — and times it against the
/// plain job measured in the same run: the same pages fetched by a bare HTTP loop that stores nothing.
/// </summary>
internal static class BenchWeComBackfillCommand
{
    private const string ByUser = "/qyapi/cgi-bin/externalcontact/batch/get_by_user";
    private const string FollowUsers = "/qyapi/cgi-bin/externalcontact/get_follow_user_list";

    public static Command Create()
    {
        var customers = new Option<int>("--customers") { Description = "Existing customers (each a contact of one member).", DefaultValueFactory = _ => 20_000 };
        var members = new Option<int>("--members") { Description = "Members of the corp, customers spread evenly over them.", DefaultValueFactory = _ => 250 };
        var db = new Option<string?>("--db") { Description = "The hub's store (default: a new temp SQLite file)." };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var command = new Command("wecom-backfill", "The WeCom existing-customer backfill: calls made against the minimum, time against a fetch-only loop.") { customers, members, db, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(customers), parse.GetValue(members), parse.GetValue(db), parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(int n, int m, string? db, bool json, CancellationToken ct)
    {
        if (n <= 0 || m <= 0 || m > 10_000)
        {
            return CliOutput.Fail("--customers must be positive and --members 1 to 10000", CliOutput.Usage);
        }
        var folder = Path.Combine(Path.GetTempPath(), "oneid-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            var memberIds = Enumerable.Range(0, m).Select(i => "m" + i.ToString("D5", CultureInfo.InvariantCulture)).ToList();
            // Only the self-built app: with the provider app configured too, every new person's unionid would also be
            // converted for it (S10's follow-up), which is other work than the backfill's.
            await using var running = await SandboxedHub.StartAsync(db ?? Path.Combine(folder, "bench.db"), 0, 0, o =>
                {
                    o.BootstrapKey = BenchKey;
                    o.Tenants[0].Corps.Single(c => c.CorpId == Demo.Corp).Apps.RemoveAll(a => a.Name != Demo.SelfBuiltApp);
                }, LogLevel.Critical, ct,
                world =>
                {
                    world.Corps.Single(c => c.Corpid == Demo.Corp).Members = memberIds;
                    return world;
                });
            using var sandbox = new HttpClient { BaseAddress = running.Sandbox.BaseAddress };
            using var generate = await sandbox.PostAsJsonAsync("_sandbox/generate", new { users = n, seed = 91, contacts = new Dictionary<string, double> { [Demo.Corp] = 1.0 } }, ct);
            generate.EnsureSuccessStatusCode();

            // 1. The plain job, fetch only: the same calls with limit 100, nothing stored. It also counts each group's
            // customers, which gives the minimum.
            using var qy = new HttpClient { BaseAddress = running.Sandbox.WeComBaseAddress };
            var token = (await qy.GetFromJsonAsync<JsonElement>($"cgi-bin/gettoken?corpid={Demo.Corp}&corpsecret=secret-crm", ct)).GetProperty("access_token").GetString()!;
            var clock = Stopwatch.StartNew();
            var list = await qy.GetFromJsonAsync<JsonElement>($"cgi-bin/externalcontact/get_follow_user_list?access_token={token}", ct);
            var sorted = list.GetProperty("follow_user").EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal).ToArray();
            long minimum = 1, plainCalls = 1, pairs = 0;
            foreach (var group in sorted.Chunk(ContactBackfill.MembersPerCall))
            {
                long inGroup = 0;
                string? cursor = null;
                do
                {
                    using var r = await qy.PostAsJsonAsync($"cgi-bin/externalcontact/batch/get_by_user?access_token={token}", new { userid_list = group, cursor, limit = ContactBackfill.CustomersPerPage }, ct);
                    var page = await r.Content.ReadFromJsonAsync<JsonElement>(ct);
                    plainCalls++;
                    inGroup += page.GetProperty("external_contact_list").GetArrayLength();
                    cursor = page.TryGetProperty("next_cursor", out var next) ? next.GetString() : null;
                }
                while (!string.IsNullOrEmpty(cursor));
                pairs += inGroup;
                minimum += Math.Max(1, (inGroup + ContactBackfill.CustomersPerPage - 1) / ContactBackfill.CustomersPerPage);
            }
            var plainSeconds = clock.Elapsed.TotalSeconds;

            // 2. OneId: the job, through the hub, recording identifiers and contact relationships.
            using (var clear = await sandbox.DeleteAsync("_sandbox/calls", ct))
            {
                clear.EnsureSuccessStatusCode();
            }
            using var hub = new HttpClient { BaseAddress = running.HubAddress };
            hub.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BenchKey);
            clock.Restart();
            using var start = await hub.PostAsJsonAsync("v1/jobs", new { kind = JobKinds.WeComContactsBackfill, corpid = Demo.Corp, app = Demo.SelfBuiltApp }, ct);
            if (!start.IsSuccessStatusCode)
            {
                return CliOutput.Fail($"the hub refused the job: {(int)start.StatusCode} {await start.Content.ReadAsStringAsync(ct)}");
            }
            var id = (await start.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetInt64();
            JsonElement job;
            while (true)
            {
                job = await hub.GetFromJsonAsync<JsonElement>($"v1/jobs/{id}", ct);
                if (job.GetProperty("state").GetString() is "succeeded" or "failed")
                {
                    break;
                }
                await Task.Delay(20, ct);
            }
            var jobSeconds = clock.Elapsed.TotalSeconds;
            var counts = (await sandbox.GetFromJsonAsync<JsonElement>("_sandbox/calls", ct)).GetProperty("counts");
            long Count(string path) => counts.TryGetProperty(path, out var c) ? c.GetInt64() : 0;
            var jobCalls = Count(ByUser) + Count(FollowUsers);
            var progress = job.GetProperty("progress");
            var stats = await hub.GetFromJsonAsync<JsonElement>("v1/stats?days=0", ct);

            Console.WriteLine($"oneid bench wecom-backfill: {n:N0} customers over {m:N0} members, store {(db is null ? "SQLite (temp file)" : CliOutput.Redact(db))}");
            Console.WriteLine($"  job {job.GetProperty("state").GetString()}: {progress.GetProperty("contacts").GetInt64():N0} (customer, member) pairs, {progress.GetProperty("new_persons").GetInt64():N0} new persons, " +
                $"{stats.GetProperty("wecom_contacts").GetProperty("total").GetInt64():N0} WeCom contacts counted");
            Console.WriteLine($"  WeCom calls: job {jobCalls:N0} (get_follow_user_list {Count(FollowUsers)}, batch/get_by_user {Count(ByUser):N0}); minimum the page sizes allow {minimum:N0}; fetch-only loop {plainCalls:N0}");
            Console.WriteLine($"  time: job {jobSeconds:F2} s ({pairs / jobSeconds:N0} pairs/s); fetch-only loop {plainSeconds:F2} s ({pairs / plainSeconds:N0} pairs/s); job / fetch-only {jobSeconds / plainSeconds:F2}×");
            if (json)
            {
                CliOutput.WriteJson(new Dictionary<string, object>
                {
                    ["customers"] = n, ["members"] = m, ["pairs"] = pairs, ["job_calls"] = jobCalls, ["minimum_calls"] = minimum, ["fetch_only_calls"] = plainCalls,
                    ["job_seconds"] = Math.Round(jobSeconds, 3), ["fetch_only_seconds"] = Math.Round(plainSeconds, 3),
                });
            }
            return job.GetProperty("state").GetString() == "succeeded" && jobCalls == minimum ? CliOutput.Ok : CliOutput.Failed;
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

    private const string BenchKey = "bench-admin-key-0123456789abcdef";
}
