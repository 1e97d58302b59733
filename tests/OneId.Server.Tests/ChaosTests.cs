using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Sandbox.Hosting;
using OneId.Testing;
using Xunit;
using Xunit.Abstractions;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>
/// Three hub processes on one PostgreSQL behind a load balancer; a burst of OA follows (pushed by the sandbox as
/// WeChat pushes: 5 s timeout, 3 attempts) and MP logins (retried with a new code by the client, as wx.login is);
/// a slow cgi-bin/user/info; one hub killed mid-burst. Afterwards every follow and every login is in the graph, one
/// person per sandbox user, and the webhook received every event, first occurrences in order.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ChaosTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const int Users = 240;
    private const string AdminKey = "chaos-admin-key-0123456789";

    [Fact]
    public async Task Three_hubs_one_killed_mid_burst_lose_no_follow_no_login_and_no_webhook_event()
    {
        var database = await postgres.Cluster.CreateDatabaseAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var balancer = await LoadBalancer.StartAsync();
        var world = SandboxMode.World(balancer.Address);
        world.Corps.Clear();
        world.Components.Clear();
        await using var sandbox = await SandboxHost.StartAsync(world, new SandboxHostOptions { Port = 0, Clock = new OneId.Sandbox.SandboxClock() }, CancellationToken.None);
        using var folder = new TempFolder();
        var config = folder.File("oneid.json");
        await File.WriteAllTextAsync(config, Configuration(database, balancer.Address, sandbox, receiver.Url));

        var hubs = new List<HubProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                hubs.Add(HubProcess.Start(config));
            }
            foreach (var hub in hubs)
            {
                await hub.WaitReadyAsync();
                balancer.Backends.Add(hub.Address);
            }

            using var sandboxClient = new HttpClient { BaseAddress = sandbox.BaseAddress };
            using var client = new HttpClient { BaseAddress = balancer.Address };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
            var generated = await (await sandboxClient.PostAsJsonAsync("_sandbox/generate", new { users = Users, seed = 5 })).Content.ReadFromJsonAsync<JsonElement>();
            var prefix = generated.GetProperty("prefix").GetString()!;
            (await sandboxClient.PostAsJsonAsync("_sandbox/faults", new { path = "/cgi-bin/user/info", delay_ms = 6000, times = 10 })).EnsureSuccessStatusCode();

            // Users 0..159 follow the OA, 80..239 log in to the MP: 80 do both and must end as one person each.
            bool Follows(int i) => i < 160;
            bool LogsIn(int i) => i >= 80;
            var sent = 0;
            var killed = 0;
            var burst = Enumerable.Range(0, Users).Select(i => Task.Run(async () =>
            {
                var user = prefix + i;
                if (Follows(i))
                {
                    (await sandboxClient.PostAsJsonAsync($"_sandbox/users/{user}/follow", new { appid = Demo.OfficialAccount })).EnsureSuccessStatusCode();
                }
                if (LogsIn(i))
                {
                    await LoginAsync(sandboxClient, client, user);
                }
                // A third of the way through, one hub dies: no shutdown, its leases and claims just stop.
                if (Interlocked.Increment(ref sent) == Users / 3 && Interlocked.Exchange(ref killed, 1) == 0)
                {
                    hubs[1].Kill();
                }
            })).ToArray();
            await Task.WhenAll(burst);
            killed.Should().Be(1);
            hubs[1].HasExited.Should().BeTrue();

            // Every user is one person holding what they did.
            var truth = new Dictionary<int, JsonElement>();
            for (var i = 0; i < Users; i++)
            {
                truth[i] = await sandboxClient.GetFromJsonAsync<JsonElement>($"_sandbox/users/{prefix}{i}");
            }
            string OpenId(int i, string app) => truth[i].GetProperty("openids").GetProperty(app).GetString()!;
            string UnionId(int i) => truth[i].GetProperty("unionids").GetProperty(Demo.UnionSpace).GetString()!;
            var persons = new ConcurrentDictionary<int, string>();
            await Eventually.TrueAsync(async () =>
            {
                foreach (var i in Enumerable.Range(0, Users).Where(i => !persons.ContainsKey(i)))
                {
                    using var r = await client.GetAsync($"v1/resolve?id=unionid:{Demo.UnionSpace}:{UnionId(i)}");
                    if (r.StatusCode != HttpStatusCode.OK)
                    {
                        return false;
                    }
                    var person = await r.Content.ReadFromJsonAsync<JsonElement>();
                    var ids = person.GetProperty("identifiers").EnumerateArray().Select(x => x.GetString()).ToHashSet();
                    if ((Follows(i) && !ids.Contains($"openid:{Demo.OfficialAccount}:{OpenId(i, Demo.OfficialAccount)}"))
                        || (LogsIn(i) && !ids.Contains($"openid:{Demo.MiniProgram}:{OpenId(i, Demo.MiniProgram)}")))
                    {
                        return false;
                    }
                    persons[i] = person.GetProperty("id").GetString()!;
                }
                return true;
            }, "every follow and every login of the burst is in the graph", TimeSpan.FromMinutes(3));
            persons.Values.Distinct().Should().HaveCount(Users, "one person per sandbox user");
            var stats = await client.GetFromJsonAsync<JsonElement>("v1/stats");
            stats.GetProperty("persons").GetInt64().Should().Be(Users, "no stray person (an openid without its unionid) was left");

            // The webhook saw every event of the log; after a failover some may come twice, but none is missing and
            // first occurrences are in sequence order.
            var feed = new List<long>();
            long after = 0;
            while (true)
            {
                var page = (await client.GetFromJsonAsync<JsonElement>($"v1/events?after={after}&limit=500")).GetProperty("events").EnumerateArray()
                    .Select(e => e.GetProperty("sequence").GetInt64()).ToArray();
                if (page.Length == 0)
                {
                    break;
                }
                feed.AddRange(page);
                after = page[^1];
            }
            await Eventually.TrueAsync(() => feed.All(receiver.Received.Select(r => r.GetProperty("sequence").GetInt64()).ToHashSet().Contains),
                $"the webhook received all {feed.Count} events", TimeSpan.FromMinutes(2));
            var firsts = receiver.Received.Select(r => r.GetProperty("sequence").GetInt64()).Distinct().ToArray();
            firsts.Should().BeInAscendingOrder().And.BeEquivalentTo(feed);
            receiver.BadSignatures.Should().Be(0);
            var pushes = await sandboxClient.GetFromJsonAsync<JsonElement>("_sandbox/pushes");
            output.WriteLine($"balancer: {balancer.Rerouted} requests rerouted from the dead hub, {balancer.LostInFlight} cut off in flight; " +
                $"pushes retried by the sandbox: {pushes.EnumerateArray().Count(p => p.GetProperty("attempts").GetInt32() > 1)}; webhook deliveries {receiver.Received.Count} for {feed.Count} events");
        }
        catch
        {
            foreach (var hub in hubs)
            {
                output.WriteLine($"--- hub {hub.Address} ---\n{hub.Log}");
            }
            throw;
        }
        finally
        {
            foreach (var hub in hubs)
            {
                hub.Dispose();
            }
        }
    }

    /// <summary>An MP login as a client makes it: on any failure ask wx.login for a new code and try again.</summary>
    private static async Task LoginAsync(HttpClient sandbox, HttpClient hub, string user)
    {
        for (var attempt = 1; ; attempt++)
        {
            var code = (await (await sandbox.PostAsJsonAsync($"_sandbox/users/{user}/login", new { appid = Demo.MiniProgram })).Content.ReadFromJsonAsync<JsonElement>())
                .GetProperty("code").GetString();
            try
            {
                using var r = await hub.PostAsJsonAsync($"v1/mp/{Demo.MiniProgram}/login", new { code });
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
                if (attempt >= 10)
                {
                    throw new InvalidOperationException($"{user}: login still failing: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
                }
            }
            catch (HttpRequestException) when (attempt < 10)
            {
                // the balancer lost the hub mid-request: a client retries
            }
        }
    }

    private static string Configuration(string database, Uri balancer, RunningSandbox sandbox, string webhook) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["database"] = database,
        ["public_url"] = balancer.AbsoluteUri.TrimEnd('/'),
        ["data_key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["bootstrap_key"] = AdminKey,
        ["webhook_poll_ms"] = 100,
        // A claim outlives an attempt (2 × 5 s + 10 s), so the killed hub's claims come back within 20 s.
        ["inbox"] = new Dictionary<string, object> { ["attempt_timeout_seconds"] = 5, ["poll_ms"] = 100 },
        ["wechat"] = new Dictionary<string, object>
        {
            ["api_base_url"] = sandbox.BaseAddress.AbsoluteUri, ["wecom_base_url"] = sandbox.WeComBaseAddress.AbsoluteUri, ["open_base_url"] = sandbox.OpenBaseAddress.AbsoluteUri,
        },
        ["tenants"] = new object[]
        {
            new Dictionary<string, object>
            {
                ["name"] = SandboxMode.Tenant,
                ["union_spaces"] = new[] { Demo.UnionSpace },
                ["apps"] = new object[]
                {
                    new Dictionary<string, object>
                    {
                        ["appid"] = Demo.OfficialAccount, ["type"] = "official_account", ["secret"] = Demo.SecretOf(Demo.OfficialAccount),
                        ["union_space"] = Demo.UnionSpace, ["token"] = SandboxMode.OaToken, ["aes_key"] = SandboxMode.OaAesKey,
                    },
                    new Dictionary<string, object>
                    {
                        ["appid"] = Demo.MiniProgram, ["type"] = "mini_program", ["secret"] = Demo.SecretOf(Demo.MiniProgram), ["union_space"] = Demo.UnionSpace,
                    },
                },
                ["webhooks"] = new object[] { new Dictionary<string, object> { ["url"] = webhook, ["secret"] = WebhookReceiver.Secret, ["batch_size"] = 20 } },
            },
        },
    });

    /// <summary>One `oneid serve` process.</summary>
    private sealed class HubProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private HubProcess(Process process, Uri address)
        {
            _process = process;
            Address = address;
        }

        public Uri Address { get; }

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public static HubProcess Start(string config)
        {
            var address = new Uri($"http://127.0.0.1:{SandboxMode.FreePort()}/");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "oneid.dll"), "serve", "--config", config, "--urls", address.AbsoluteUri.TrimEnd('/') })
            {
                psi.ArgumentList.Add(a);
            }
            var hub = new HubProcess(Process.Start(psi)!, address);
            void Keep(string? line)
            {
                if (line is not null)
                {
                    lock (hub._log)
                    {
                        hub._log.AppendLine(line);
                    }
                }
            }
            hub._process.OutputDataReceived += (_, e) => Keep(e.Data);
            hub._process.ErrorDataReceived += (_, e) => Keep(e.Data);
            hub._process.BeginOutputReadLine();
            hub._process.BeginErrorReadLine();
            return hub;
        }

        public Task WaitReadyAsync() => Eventually.TrueAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"hub exited with {_process.ExitCode}: {Log}");
            }
            using var c = new HttpClient { BaseAddress = Address };
            return (await c.GetAsync("readyz")).IsSuccessStatusCode;
        }, $"hub {Address} is ready", TimeSpan.FromMinutes(2));

        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public bool HasExited => _process.HasExited;

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
            _process.Dispose();
        }
    }

    /// <summary>
    /// A round-robin HTTP load balancer on loopback. A backend that refuses the connection (it died) is skipped and the
    /// request tried on the next one, as nginx's proxy_next_upstream does; a request lost in flight is a 502, which
    /// WeChat's push retry and the client's login retry have to cover.
    /// </summary>
    private sealed class LoadBalancer : IAsyncDisposable
    {
        private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase) { "Host", "Connection", "Transfer-Encoding", "Keep-Alive", "Content-Length" };
        private readonly WebApplication _app;
        private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) }) { Timeout = TimeSpan.FromSeconds(30) };
        private int _next;

        /// <summary>Requests sent on to another hub because theirs refused the connection; requests cut off in flight.</summary>
        public int Rerouted, LostInFlight;

        private LoadBalancer(WebApplication app) => _app = app;

        public ConcurrentBag<Uri> Backends { get; } = [];
        public Uri Address => new(_app.Urls.First().TrimEnd('/') + "/");

        public static async Task<LoadBalancer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var balancer = new LoadBalancer(app);
            app.Run(balancer.ForwardAsync);
            await app.StartAsync();
            return balancer;
        }

        private async Task ForwardAsync(HttpContext http)
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            var backends = Backends.ToArray();
            for (var tried = 0; tried < backends.Length; tried++)
            {
                var backend = backends[(int)((uint)Interlocked.Increment(ref _next) % backends.Length)];
                using var request = new HttpRequestMessage(new HttpMethod(http.Request.Method), new Uri(backend, http.Request.Path.Value!.TrimStart('/') + http.Request.QueryString));
                if (body.Length > 0 || http.Request.ContentLength is not null)
                {
                    request.Content = new ByteArrayContent(body.ToArray());
                }
                foreach (var (name, values) in http.Request.Headers.Where(h => !HopByHop.Contains(h.Key)))
                {
                    if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!))
                    {
                        request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
                    }
                }
                HttpResponseMessage response;
                try
                {
                    response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
                }
                catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
                {
                    Interlocked.Increment(ref Rerouted);
                    continue; // that hub is gone: the next one takes the request
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref LostInFlight);
                    http.Response.StatusCode = StatusCodes.Status502BadGateway;
                    return;
                }
                using (response)
                {
                    http.Response.StatusCode = (int)response.StatusCode;
                    foreach (var (name, values) in response.Headers.Concat(response.Content.Headers).Where(h => !HopByHop.Contains(h.Key)))
                    {
                        http.Response.Headers[name] = values.ToArray();
                    }
                    await response.Content.CopyToAsync(http.Response.Body);
                }
                return;
            }
            http.Response.StatusCode = StatusCodes.Status502BadGateway;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _http.Dispose();
        }
    }
}
