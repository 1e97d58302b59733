using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Graph;
using OneId.Server;
using OneId.Server.Api;
using OneId.Server.Configuration;
using OneId.Server.Tenants;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench console [--runs N] [--json]</c>: the web console over loopback as a browser fetches it — the first
/// load (HTML, its scripts and styles, then the overview's API answers, each wave in parallel) and the person page for
/// a person with 100 identifiers (its lazily loaded script, the person, then its observations, history and
/// keep-apart) — in ms, next to the same number of waves of GET /healthz; and the built bundle's size.
/// </summary>
internal static partial class BenchConsoleCommand
{
    public static Command Create()
    {
        var runs = new Option<int>("--runs") { Description = "Loads measured (the median is reported).", DefaultValueFactory = _ => 30 };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var command = new Command("console", "The console's first load and person page over loopback, in ms, and its bundle size.") { runs, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(runs), parse.GetValue(json), ct));
        return command;
    }

    [GeneratedRegex("(?:src|href)=\"(/console/assets/[^\"]+)\"")]
    private static partial Regex AssetReference();

    private static async Task<int> RunAsync(int runs, bool json, CancellationToken ct)
    {
        if (runs <= 0)
        {
            return CliOutput.Fail("--runs must be positive", CliOutput.Usage);
        }
        var files = ConsoleFiles.Locate();
        if (files.Provider is null)
        {
            return CliOutput.Fail("the console is not built; run ./oneid bench console (it builds console/) or console/build.sh", CliOutput.Failed);
        }
        var root = files.Provider.Root;
        var bundle = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => (Path: f, Bytes: new FileInfo(f).Length, Gzip: GzipLength(f))).ToArray();

        var folder = Path.Combine(Path.GetTempPath(), "oneid-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        const string key = "bench-admin-key-0123456789";
        try
        {
            await using var app = HubApplication.Build(new HubLaunch
            {
                Database = Path.Combine(folder, "bench.db"),
                Urls = ["http://127.0.0.1:0"],
                MinimumLogLevel = LogLevel.Error,
                Configure = o =>
                {
                    o.BootstrapKey = key;
                    o.Tenants.Clear();
                    o.Tenants.Add(new TenantOptions { Name = "bench", UnionSpaces = ["bench"] });
                },
            });
            await app.StartAsync(ct);
            var graph = app.Services.GetRequiredService<TenantRegistry>().Get("bench")!.Graph;
            // One person with 100 identifiers, learned over 100 observations (each links a new account to the first).
            var now = DateTimeOffset.UtcNow;
            var first = Identifier.Create(IdentifierType.Account, "bench0", "member-1");
            var observations = Enumerable.Range(0, 100).Select(i => new Observation(
                i == 0 ? [first] : [first, Identifier.Create(IdentifierType.Account, "bench" + i.ToString(CultureInfo.InvariantCulture), "member-1")],
                "bench", now.AddSeconds(i))).ToArray();
            var person = (await graph.ObserveManyAsync(observations, ct))[0].Person!.Value.ToString();

            using var handler = new SocketsHttpHandler { UseCookies = true, CookieContainer = new System.Net.CookieContainer() };
            using var client = new HttpClient(handler) { BaseAddress = new Uri(app.Urls.First()) };
            (await client.PostAsJsonAsync("/v1/console/session", new { key }, ct)).EnsureSuccessStatusCode();

            async Task Get(string path)
            {
                using var r = await client.GetAsync(path, ct);
                await r.Content.ReadAsByteArrayAsync(ct);
                if (!r.IsSuccessStatusCode && (int)r.StatusCode != 404)
                {
                    throw new InvalidOperationException($"GET {path}: {(int)r.StatusCode}");
                }
            }

            var assetsInPage = 0;
            async Task FirstLoad()
            {
                var html = await client.GetStringAsync("/console/", ct);
                var assets = AssetReference().Matches(html).Select(m => m.Groups[1].Value).Distinct().ToArray();
                assetsInPage = assets.Length;
                await Task.WhenAll(assets.Select(Get));
                await Get("/v1/console/session");
                await Task.WhenAll(new[] { "/v1/stats", "/v1/stats/growth?days=30", "/v1/conflicts?limit=1", "/v1/webhooks", "/v1/apps", "/v1/jobs" }.Select(Get));
            }

            var personScript = Directory.EnumerateFiles(Path.Combine(root, "assets"), "Person-*.js").Select(Path.GetFileName).FirstOrDefault();
            async Task PersonPage()
            {
                await Task.WhenAll(personScript is null ? [Get($"/v1/persons/{person}")] : new[] { Get("/console/assets/" + personScript), Get($"/v1/persons/{person}") });
                await Task.WhenAll(Get($"/v1/persons/{person}/observations"), Get($"/v1/persons/{person}/history"), Get($"/v1/persons/{person}/keep-apart"));
            }

            // The trivial baseline: the same number of sequential waves (3 and 2), each one GET /healthz.
            async Task Waves(int n)
            {
                for (var i = 0; i < n; i++)
                {
                    await Get("/healthz");
                }
            }

            var firstLoad = await MedianAsync(FirstLoad, runs);
            var personPage = await MedianAsync(PersonPage, runs);
            var trivialFirst = await MedianAsync(() => Waves(4), runs);
            var trivialPerson = await MedianAsync(() => Waves(2), runs);
            var total = bundle.Sum(b => b.Bytes);
            var totalGzip = bundle.Sum(b => b.Gzip);
            Console.WriteLine($"oneid bench console: {runs} runs each, median, loopback, SQLite (temp file)");
            Console.WriteLine($"  first load (HTML + {assetsInPage} assets + session + 6 overview answers)  {Ms(firstLoad)} ms   (4 waves of GET /healthz: {Ms(trivialFirst)} ms)");
            Console.WriteLine($"  person page, 100 identifiers (script + person, then observations, history, keep-apart)  {Ms(personPage)} ms   (2 waves of GET /healthz: {Ms(trivialPerson)} ms)");
            Console.WriteLine($"  bundle {Kb(total)} KB, {Kb(totalGzip)} KB gzipped:");
            foreach (var b in bundle.OrderByDescending(b => b.Bytes))
            {
                Console.WriteLine($"    {Path.GetRelativePath(root, b.Path),-40} {Kb(b.Bytes),8} KB {Kb(b.Gzip),8} KB gzipped");
            }
            if (json)
            {
                CliOutput.WriteJson(new Dictionary<string, object>
                {
                    ["runs"] = runs, ["first_load_ms"] = Math.Round(firstLoad, 2), ["person_page_ms"] = Math.Round(personPage, 2),
                    ["trivial_first_load_ms"] = Math.Round(trivialFirst, 2), ["trivial_person_page_ms"] = Math.Round(trivialPerson, 2),
                    ["bundle_bytes"] = total, ["bundle_gzip_bytes"] = totalGzip,
                });
            }
            await app.StopAsync(CancellationToken.None);
            return CliOutput.Ok;
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

    private static async Task<double> MedianAsync(Func<Task> load, int runs)
    {
        await load(); // warm-up: JIT, connection, caches
        var samples = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await load();
            samples[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(samples);
        return samples[runs / 2];
    }

    private static long GzipLength(string path)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        using (var input = File.OpenRead(path))
        {
            input.CopyTo(gzip);
        }
        return output.Length;
    }

    private static string Ms(double ms) => ms.ToString("F1", CultureInfo.InvariantCulture);

    private static string Kb(long bytes) => (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture);
}
