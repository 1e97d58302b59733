using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using OneId.DemoWiring;
using OneId.Testing;
using Xunit;
using Demo = OneId.Sandbox.World.DemoWorld;

namespace OneId.Server.Tests;

/// <summary>Backfills as durable jobs: POST /v1/jobs, GET /v1/jobs/{id}, GET /v1/jobs, with the contract's JSON.</summary>
public sealed class JobsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private async Task<SandboxedHub> StartAsync() =>
        await SandboxedHub.StartAsync(_folder.File($"jobs-{Guid.NewGuid():N}.db"), 0, 0, o =>
        {
            o.BootstrapKey = TestHub.AdminKey;
            o.Inbox.PollMilliseconds = 50;
        }, LogLevel.Critical, CancellationToken.None);

    private static async Task SandboxAsync(SandboxedHub hub, string path, object? body = null, HttpMethod? method = null)
    {
        using var c = new HttpClient { BaseAddress = hub.Sandbox.BaseAddress };
        using var request = new HttpRequestMessage(method ?? HttpMethod.Post, path) { Content = body is null ? null : JsonContent.Create(body) };
        (await c.SendAsync(request)).EnsureSuccessStatusCode();
    }

    private static HttpClient Admin(SandboxedHub hub)
    {
        var c = new HttpClient { BaseAddress = hub.HubAddress };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestHub.AdminKey);
        return c;
    }

    private static async Task FollowersAsync(SandboxedHub hub, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var name = "fan" + Guid.NewGuid().ToString("N")[..8];
            await SandboxAsync(hub, "_sandbox/users", new { name });
            await SandboxAsync(hub, $"_sandbox/users/{name}/follow", new { appid = Demo.OfficialAccount });
        }
    }

    private static Task<JsonElement> FinishedAsync(HttpClient admin, long id) =>
        Eventually.ValueAsync(() => admin.GetFromJsonAsync<JsonElement>($"v1/jobs/{id}"),
            j => j.GetProperty("state").GetString() is "succeeded" or "failed", $"job {id} finished");

    [Fact]
    public async Task A_backfill_job_runs_in_the_background_and_reports_its_progress()
    {
        await using var hub = await StartAsync();
        await FollowersAsync(hub, 3);
        using var admin = Admin(hub);
        // user/get waits 2 s, so the job is still running when the second request comes.
        await SandboxAsync(hub, "_sandbox/faults", new { path = "/cgi-bin/user/get", delay_ms = 2000, times = 1 });
        var start = await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = Demo.OfficialAccount });
        start.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var job = await start.Content.ReadFromJsonAsync<JsonElement>();
        job.EnumerateObject().Select(p => p.Name).Should().Equal("id", "kind", "appid", "state", "progress", "eta_seconds", "error", "created_at", "started_at", "finished_at");
        job.GetProperty("progress").EnumerateObject().Select(p => p.Name).Should().Equal("pages", "followers", "new_persons", "merges", "conflicts", "replaced");
        job.GetProperty("kind").GetString().Should().Be("oa_followers_backfill");
        job.GetProperty("appid").GetString().Should().Be(Demo.OfficialAccount);
        job.GetProperty("state").GetString().Should().BeOneOf("queued", "running");
        var id = job.GetProperty("id").GetInt64();

        var again = await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = Demo.OfficialAccount });
        again.StatusCode.Should().Be(HttpStatusCode.Conflict, "one backfill per app at a time");
        (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString().Should().Be("A job is already running");

        var done = await FinishedAsync(admin, id);
        done.GetProperty("state").GetString().Should().Be("succeeded", done.ToString());
        done.GetProperty("progress").GetProperty("followers").GetInt32().Should().BeGreaterThanOrEqualTo(3);
        done.GetProperty("progress").GetProperty("pages").GetInt32().Should().BeGreaterThanOrEqualTo(1);
        done.GetProperty("error").ValueKind.Should().Be(JsonValueKind.Null);
        done.GetProperty("eta_seconds").ValueKind.Should().Be(JsonValueKind.Null);
        done.GetProperty("finished_at").ValueKind.Should().Be(JsonValueKind.String);

        var second = await (await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = Demo.OfficialAccount })).Content.ReadFromJsonAsync<JsonElement>();
        await FinishedAsync(admin, second.GetProperty("id").GetInt64());
        var list = await admin.GetFromJsonAsync<JsonElement>("v1/jobs");
        list.EnumerateArray().Select(j => j.GetProperty("id").GetInt64()).Should().Equal([second.GetProperty("id").GetInt64(), id], "newest first");
    }

    [Fact]
    public async Task A_job_stopped_by_WeChat_fails_with_the_error_and_resumes_when_started_again()
    {
        await using var hub = await StartAsync();
        await FollowersAsync(hub, 2);
        using var admin = Admin(hub);
        await SandboxAsync(hub, "_sandbox/faults", new { path = "/cgi-bin/user/info/batchget", errcode = 45009, times = 1 });
        var job = await (await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = Demo.OfficialAccount })).Content.ReadFromJsonAsync<JsonElement>();
        var failed = await FinishedAsync(admin, job.GetProperty("id").GetInt64());
        failed.GetProperty("state").GetString().Should().Be("failed");
        failed.GetProperty("error").GetString().Should().Contain("45009");

        var retry = await (await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = Demo.OfficialAccount })).Content.ReadFromJsonAsync<JsonElement>();
        var done = await FinishedAsync(admin, retry.GetProperty("id").GetInt64());
        done.GetProperty("state").GetString().Should().Be("succeeded", done.ToString());
        done.GetProperty("progress").GetProperty("followers").GetInt32().Should().BeGreaterThanOrEqualTo(2);
    }

    [Fact]
    public async Task Bad_job_requests_get_problem_details()
    {
        await using var hub = await StartAsync();
        using var admin = Admin(hub);
        async Task<JsonElement> Problem(HttpResponseMessage r, HttpStatusCode status)
        {
            r.StatusCode.Should().Be(status);
            r.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            return await r.Content.ReadFromJsonAsync<JsonElement>();
        }
        await Problem(await admin.PostAsJsonAsync("v1/jobs", new { kind = "nope", appid = Demo.OfficialAccount }), HttpStatusCode.BadRequest);
        await Problem(await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = "wx9999999999999999" }), HttpStatusCode.NotFound);
        await Problem(await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = Demo.MiniProgram }), HttpStatusCode.BadRequest);
        // The platform's authorizer OA has not authorized the platform in this world yet.
        var unauthorized = await Problem(await admin.PostAsJsonAsync("v1/jobs", new { kind = "oa_followers_backfill", appid = Demo.AuthorizerOfficialAccount }), HttpStatusCode.BadRequest);
        unauthorized.GetProperty("detail").GetString().Should().Contain("authorize");
        await Problem(await admin.GetAsync("v1/jobs/12345"), HttpStatusCode.NotFound);
        await Problem(await admin.GetAsync("v1/jobs/abc"), HttpStatusCode.BadRequest);
        using var anonymous = new HttpClient { BaseAddress = hub.HubAddress };
        await Problem(await anonymous.GetAsync("v1/jobs"), HttpStatusCode.Unauthorized);
    }
}
