using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OneId.Cli.Bench;
using OneId.Server;
using OneId.Server.Configuration;
using OneId.Server.Tenants;
using OneId.Server.Webhooks;

namespace OneId.Cli.Commands;

/// <summary>
/// <c>oneid bench webhooks [--events N] [--batch-sizes 1,100] [--json]</c>: how fast the hub delivers the graph's
/// events to a local receiver, next to how fast the graph writes them, in the same run. The graph side is the
/// import path (<see cref="ImportCommand.DefaultBatchSize"/> observations a transaction), the fastest way events are
/// made, so the ratio is the strict one. The transport ceiling is the same receiver fed pre-serialized, pre-signed
/// bodies by one HttpClient as fast as it answers: what delivery would cost with no database at all.
/// </summary>
internal static class BenchWebhooksCommand
{
    private const string Secret = "bench-webhook-secret-0123456789";
    private const string Key = "bench-admin-key-0123456789";

    public static Command Create()
    {
        var events = new Option<int>("--events") { Description = "Observations to ingest (a third create, a third link, a third merge).", DefaultValueFactory = _ => 30_000 };
        var batchSizes = new Option<string>("--batch-sizes") { Description = "Webhook batch_size values to measure, comma-separated.", DefaultValueFactory = _ => "1,100" };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of the figures." };
        var command = new Command("webhooks", "Webhook delivery rate to a local receiver vs. the graph's write rate, in the same run.") { events, batchSizes, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(events), parse.GetValue(batchSizes)!, parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(int events, string batchSizesText, bool json, CancellationToken ct)
    {
        var sizes = batchSizesText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(x => int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0).ToArray();
        if (events <= 0 || sizes.Length == 0 || sizes.Any(n => n is < 1 or > WebhookOptions.MaxBatchSize))
        {
            return CliOutput.Fail($"--events must be positive and --batch-sizes a list of numbers from 1 to {WebhookOptions.MaxBatchSize}", CliOutput.Usage);
        }
        var folder = Path.Combine(Path.GetTempPath(), "oneid-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        var db = Path.Combine(folder, "bench.db");
        try
        {
            await using var receiver = await Receiver.StartAsync(ct);

            // 1. The graph's write rate: the events a webhook carries, written through the import path.
            long written;
            double writeSeconds;
            await using (var hub = Hub(db, []))
            {
                await hub.StartAsync(ct);
                var graph = hub.Services.GetRequiredService<TenantRegistry>().Get("bench")!.Graph;
                var stream = IngestWorkload.Generate(events, new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero)).ToArray();
                var clock = Stopwatch.StartNew();
                written = 0;
                for (var i = 0; i < stream.Length; i += ImportCommand.DefaultBatchSize)
                {
                    var results = await graph.ObserveManyAsync(new ArraySegment<OneId.Graph.Observation>(stream, i, Math.Min(ImportCommand.DefaultBatchSize, stream.Length - i)), ct);
                    written += results.Sum(r => r.Events.Count(e => e.WebhookName is not null));
                }
                writeSeconds = clock.Elapsed.TotalSeconds;
                await hub.StopAsync(CancellationToken.None);
            }
            var writeRate = written / writeSeconds;
            Console.WriteLine($"oneid bench webhooks: {events:N0} observations → {written:N0} webhook events, SQLite (temp file), receiver on loopback checking every signature");
            Console.WriteLine($"  graph writes        {written / writeSeconds,10:N0} events/s ({writeSeconds:F2} s, {ImportCommand.DefaultBatchSize:N0} observations a transaction)");

            var figures = new Dictionary<string, object> { ["events"] = written, ["graph_events_per_s"] = Math.Round(writeRate, 1) };
            foreach (var size in sizes)
            {
                // 2. The hub delivering everything, from its start until the receiver holds the last event.
                receiver.Reset($"hub-{size}", written);
                var clock = Stopwatch.StartNew();
                await using (var hub = Hub(db, [new WebhookOptions { Url = receiver.UrlFor($"hub-{size}"), Secret = Secret, BatchSize = size }]))
                {
                    await hub.StartAsync(ct);
                    await receiver.Done.WaitAsync(ct);
                    await hub.StopAsync(CancellationToken.None);
                }
                var hubSeconds = clock.Elapsed.TotalSeconds; // includes the hub's start: pessimistic by a fraction of a second
                if (receiver.Error is { } error)
                {
                    return CliOutput.Fail($"batch_size {size}: {error}", CliOutput.Failed);
                }

                // 3. The transport ceiling: the same bodies, prepared beforehand, posted by one client in order.
                var ceilingSeconds = await TransportCeilingAsync(receiver, size, written, ct);

                var hubRate = written / hubSeconds;
                var ratio = hubRate / writeRate;
                Console.WriteLine($"  batch_size {size,-4}     {hubRate,10:N0} events/s delivered ({hubSeconds:F2} s, {receiver.Posts:N0} POSTs); " +
                    $"transport ceiling {written / ceilingSeconds:N0} events/s; delivered ÷ written {ratio.ToString("F2", CultureInfo.InvariantCulture)} (goal ≥ 1.0)");
                figures[$"batch_{size}_events_per_s"] = Math.Round(hubRate, 1);
                figures[$"batch_{size}_ceiling_events_per_s"] = Math.Round(written / ceilingSeconds, 1);
                figures[$"batch_{size}_ratio"] = Math.Round(ratio, 3);
            }
            if (json)
            {
                CliOutput.WriteJson(figures);
            }
            return CliOutput.Ok;
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

    private static WebApplication Hub(string db, IReadOnlyList<WebhookOptions> webhooks) => HubApplication.Build(new HubLaunch
    {
        Database = db,
        Urls = ["http://127.0.0.1:0"],
        MinimumLogLevel = LogLevel.Error,
        Configure = o =>
        {
            o.BootstrapKey = Key;
            o.WebhookPollMilliseconds = 50;
            o.Tenants.Clear();
            var tenant = new TenantOptions
            {
                Name = "bench", UnionSpaces = [IngestWorkload.UnionSpace],
                Apps = IngestWorkload.Apps.Select(a => new AppOptions { AppId = a, Type = AppTypes.OfficialAccount, Secret = "unused", UnionSpace = IngestWorkload.UnionSpace }).ToList(),
            };
            tenant.Webhooks.AddRange(webhooks);
            o.Tenants.Add(tenant);
        },
    });

    private static async Task<double> TransportCeilingAsync(Receiver receiver, int size, long count, CancellationToken ct)
    {
        var bodies = new List<byte[]>();
        for (long first = 1; first <= count; first += size)
        {
            var batch = Enumerable.Range(0, (int)Math.Min(size, count - first + 1)).Select(i => new WebhookEvent(
                $"bench-{first + i}", "person.created", "bench", first + i, DateTimeOffset.UnixEpoch, "p_1", [], "1", [])).ToArray();
            bodies.Add(size == 1 ? JsonSerializer.SerializeToUtf8Bytes(batch[0]) : JsonSerializer.SerializeToUtf8Bytes(new WebhookBatch(batch)));
        }
        var signatures = bodies.Select(b => WebhookDispatcher.Sign(Secret, b)).ToArray();
        receiver.Reset($"ceiling-{size}", count);
        using var client = new HttpClient();
        var url = receiver.UrlFor($"ceiling-{size}");
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < bodies.Count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bodies[i]) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            request.Headers.Add(WebhookDispatcher.SignatureHeader, signatures[i]);
            using var response = await client.SendAsync(request, ct);
            response.EnsureSuccessStatusCode();
        }
        await receiver.Done.WaitAsync(ct);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>A company's receiver: checks each signature, counts events and checks that sequences only go up.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private string _path = "";
        private long _expected, _received, _last;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private Receiver(WebApplication app) => _app = app;

        public Task Done => _done.Task;
        public string? Error { get; private set; }
        public long Posts { get; private set; }

        public string UrlFor(string path) => _app.Urls.First().TrimEnd('/') + "/" + path;

        /// <summary>Starts a new run on its own path (a webhook's cursor follows its URL, so each run starts at zero).</summary>
        public void Reset(string path, long expected)
        {
            _path = path;
            _expected = expected;
            _received = _last = Posts = 0;
            Error = null;
            _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public static async Task<Receiver> StartAsync(CancellationToken ct)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new Receiver(app);
            app.MapPost("/{path}", async (string path, HttpContext http) =>
            {
                using var buffer = new MemoryStream();
                await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
                var body = buffer.ToArray();
                var expected = Encoding.ASCII.GetBytes(WebhookDispatcher.Sign(Secret, body));
                if (path != receiver._path || !CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(http.Request.Headers[WebhookDispatcher.SignatureHeader].ToString())))
                {
                    return Results.StatusCode(StatusCodes.Status401Unauthorized);
                }
                receiver.Take(body);
                return Results.Ok();
            });
            await app.StartAsync(ct);
            return receiver;
        }

        // The dispatcher posts one body at a time per webhook, so no two calls overlap here.
        private void Take(byte[] body)
        {
            Posts++;
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            foreach (var e in root.TryGetProperty("events", out var batch) ? batch.EnumerateArray() : Enumerable.Repeat(root, 1))
            {
                var sequence = e.GetProperty("sequence").GetInt64();
                if (sequence <= _last)
                {
                    Error ??= $"event #{sequence} arrived after #{_last}";
                }
                _last = sequence;
                _received++;
            }
            if (_received >= _expected || Error is not null)
            {
                _done.TrySetResult();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
