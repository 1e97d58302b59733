using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Server.Configuration;
using OneId.Server.Observability;
using OneId.Testing;
using OneId.WeChat.Http;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>OneId's own meters, read in-process, and their export over OTLP to a collector on loopback.</summary>
public sealed class TelemetryTests
{
    /// <summary>Sums one instrument's measurements whose tags include all of <paramref name="tags"/>.</summary>
    private sealed class Measured : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public Measured(string meter, string instrument, params (string Key, string Value)[] tags)
        {
            _listener.InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == meter && i.Name == instrument)
                {
                    l.EnableMeasurementEvents(i);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, measured, _) =>
            {
                var all = measured.ToArray();
                if (tags.All(t => all.Any(m => m.Key == t.Key && Equals(m.Value?.ToString(), t.Value))))
                {
                    Interlocked.Add(ref _total, value);
                }
            });
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Observations_merges_and_conflicts_are_counted_per_tenant_and_outcome()
    {
        const string tenant = "telemetry1";
        using var accepted = new Measured(HubMetrics.MeterName, "oneid.observations", ("tenant", tenant), ("outcome", "accepted"));
        using var rejected = new Measured(HubMetrics.MeterName, "oneid.observations", ("tenant", tenant), ("outcome", "rejected"));
        using var merges = new Measured(HubMetrics.MeterName, "oneid.merges", ("tenant", tenant));
        using var conflicts = new Measured(HubMetrics.MeterName, "oneid.conflicts", ("tenant", tenant));
        await using var hub = await TestHub.StartAsync(configure: o =>
        {
            o.Tenants.Clear();
            o.Tenants.Add(TestHub.DefaultTenant(tenant));
        });
        using var admin = hub.Admin();
        var oa = $"openid:{TestHub.OaAppId}:oTelemetry0000000000000000001";
        var mp = $"openid:{TestHub.MpAppId}:oTelemetry0000000000000000002";
        var u1 = $"unionid:{tenant}:oTelemetryUnion00000000000001";
        var u2 = $"unionid:{tenant}:oTelemetryUnion00000000000002";
        var response = await admin.PostAsJsonAsync("v1/observations", new
        {
            observations = new object[]
            {
                new { id = "t1", ids = new[] { oa } },          // a new person
                new { id = "t2", ids = new[] { mp, u1 } },      // another
                new { id = "t3", ids = new[] { oa, u1 } },      // merges the two
                new { id = "t4", ids = new[] { oa, u2 } },      // a second unionid in one space: a conflict
            },
        });
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        // A retry adds nothing, so it is not counted again.
        (await admin.PostAsJsonAsync("v1/observations", new { observations = new object[] { new { id = "t1", ids = new[] { oa } } } })).EnsureSuccessStatusCode();

        accepted.Total.Should().Be(3);
        rejected.Total.Should().Be(1);
        merges.Total.Should().Be(1);
        conflicts.Total.Should().Be(1);
    }

    [Fact]
    public async Task WeChat_calls_are_counted_by_api_and_errcode()
    {
        using var refused = new Measured(WeChatMetrics.MeterName, "oneid.wechat.calls", ("api", "sns/jscode2session"), ("errcode", "40163"));
        using var answered = new Measured(WeChatMetrics.MeterName, "oneid.wechat.calls", ("api", "sns/jscode2session"), ("errcode", "0"));
        using var folder = new TempFolder();
        await using var hub = await SandboxedHub.StartAsync(folder.File("hub.db"), 0, 0, null, LogLevel.Critical, CancellationToken.None);
        using var sandbox = new HttpClient { BaseAddress = hub.Sandbox.BaseAddress };
        using var client = new HttpClient { BaseAddress = hub.HubAddress };
        await sandbox.PostAsJsonAsync("_sandbox/users", new { name = "tele" });
        var code = (await (await sandbox.PostAsJsonAsync("_sandbox/users/tele/login", new { appid = Demo.MiniProgram })).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("code").GetString();

        (await client.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code })).StatusCode.Should().Be(HttpStatusCode.OK);
        // Codes are single-use: the same code again is WeChat's 40163 "code been used".
        (await client.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code })).StatusCode.Should().Be(HttpStatusCode.BadRequest);

        answered.Total.Should().BeGreaterThanOrEqualTo(1);
        refused.Total.Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task Traces_and_metrics_reach_an_OTLP_collector_when_one_is_configured()
    {
        await using var collector = await Collector.StartAsync();
        using var folder = new TempFolder();
        var config = folder.File("oneid.json");
        await File.WriteAllTextAsync(config, System.Text.Json.JsonSerializer.Serialize(new
        {
            telemetry = new Dictionary<string, object> { ["otlp_endpoint"] = collector.Url, ["service_name"] = "oneid-test", ["metrics_interval_ms"] = 1000 },
        }));
        await using var app = HubApplication.Build(new HubLaunch
        {
            ConfigFile = config,
            Database = folder.File("hub.db"),
            Urls = ["http://127.0.0.1:0"],
            MinimumLogLevel = LogLevel.Warning,
            Configure = o =>
            {
                o.BootstrapKey = TestHub.AdminKey;
                o.Tenants.Clear();
                o.Tenants.Add(TestHub.DefaultTenant("telemetry2"));
            },
        });
        await app.StartAsync();
        using var admin = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestHub.AdminKey);
        (await admin.PostAsJsonAsync("v1/observations", new { observations = new[] { new { ids = new[] { $"openid:{TestHub.OaAppId}:oTelemetryQueryValue0000000009" } } } })).EnsureSuccessStatusCode();

        // A query value (here an id; on WeChat calls the access_token) must not reach the collector.
        (await admin.GetAsync($"v1/resolve?id=openid:{TestHub.OaAppId}:oTelemetryQueryValue0000000009")).EnsureSuccessStatusCode();

        await Eventually.TrueAsync(() => collector.Received("/v1/traces", "/v1/resolve"), "a trace export with the resolve request");
        collector.Received("/v1/traces", "oneid-test").Should().BeTrue("the service is named");
        collector.Received("/v1/traces", "oTelemetryQueryValue").Should().BeFalse("query string values are redacted");
        await Eventually.TrueAsync(() => collector.Received("/v1/metrics", "oneid.observations"), "a metrics export with OneId's own meter");
        await app.StopAsync();
    }

    /// <summary>Stands in for an OpenTelemetry collector: keeps the OTLP/HTTP protobuf bodies it is sent.</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, byte[] Body)> _bodies = new();

        private Collector(WebApplication app) => _app = app;

        public string Url => _app.Urls.First();

        // Protobuf keeps strings as UTF-8 bytes, so a name is found in the body as it is.
        public bool Received(string path, string text) =>
            _bodies.Any(b => b.Path == path && Encoding.UTF8.GetString(b.Body).Contains(text, StringComparison.Ordinal));

        public static async Task<Collector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var collector = new Collector(app);
            app.MapPost("/v1/{signal}", async (HttpContext http) =>
            {
                using var body = new MemoryStream();
                await http.Request.Body.CopyToAsync(body);
                collector._bodies.Enqueue((http.Request.Path.Value!, body.ToArray()));
                return Results.Ok();
            });
            await app.StartAsync();
            return collector;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
