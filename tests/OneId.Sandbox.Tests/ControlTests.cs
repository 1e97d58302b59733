using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using OneId.Sandbox.Tests.Support;
using OneId.Sandbox.World;
using Xunit;

namespace OneId.Sandbox.Tests;

public sealed class ControlTests
{
    private const string Oa = DemoWorld.OfficialAccount;

    [Fact]
    public async Task Faults_play_an_errcode_a_number_of_times_then_clear()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        await sandbox.ControlAsync("faults", new { path = "/cgi-bin/token", errcode = -1, times = 2 });
        var url = $"cgi-bin/token?grant_type=client_credential&appid={Oa}&secret={DemoWorld.SecretOf(Oa)}";
        (await sandbox.GetAsync(url)).ShouldBeError(-1);
        var second = await sandbox.GetAsync(url);
        second.ShouldBeError(-1);
        second.Str("errmsg").Should().StartWith("system error rid: ");
        (await sandbox.GetAsync(url)).TryGetProperty("access_token", out _).Should().BeTrue();

        await sandbox.ControlAsync("faults", new { path = "/qyapi/cgi-bin/gettoken", errcode = 45009 });
        for (var i = 0; i < 3; i++)
        {
            (await sandbox.GetAsync($"qyapi/cgi-bin/gettoken?corpid={DemoWorld.Corp}&corpsecret=secret-crm")).ShouldBeError(45009);
        }
        (await sandbox.Http.DeleteAsync(new Uri("_sandbox/faults", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await sandbox.GetAsync($"qyapi/cgi-bin/gettoken?corpid={DemoWorld.Corp}&corpsecret=secret-crm")).GetProperty("errcode").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task Fault_delay_slows_the_answer()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        await sandbox.ControlAsync("faults", new { path = "/cgi-bin/token", delay_ms = 400, times = 1 });
        var watch = Stopwatch.StartNew();
        await sandbox.AppTokenAsync(Oa);
        // A lower bound only: a delay cannot end early, however busy the machine (no upper bounds on wall time).
        watch.ElapsedMilliseconds.Should().BeGreaterThanOrEqualTo(380);
        // times = 1: the fault is spent, so the next call is not delayed.
        JsonDocument.Parse(await sandbox.Http.GetStringAsync(new Uri("_sandbox/faults", UriKind.Relative))).RootElement.GetArrayLength().Should().Be(0);
        (await sandbox.GetAsync($"cgi-bin/token?grant_type=client_credential&appid={Oa}&secret={DemoWorld.SecretOf(Oa)}")).TryGetProperty("access_token", out _).Should().BeTrue();
    }

    [Fact]
    public async Task Calls_count_per_path_and_list_the_latest_with_errcodes_but_no_secrets()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        await sandbox.AppTokenAsync(Oa);
        await sandbox.AppTokenAsync(Oa);
        await sandbox.GetAsync("cgi-bin/user/get?access_token=bad");
        var calls = JsonDocument.Parse(await sandbox.Http.GetStringAsync(new Uri("_sandbox/calls", UriKind.Relative))).RootElement;
        calls.GetProperty("counts").GetProperty("/cgi-bin/token").GetInt32().Should().Be(2);
        calls.GetProperty("counts").GetProperty("/cgi-bin/user/get").GetInt32().Should().Be(1);
        var latest = calls.GetProperty("latest").EnumerateArray().ToList();
        latest[^1].Str("path").Should().Be("/cgi-bin/user/get");
        latest[^1].GetProperty("errcode").GetInt32().Should().Be(40001);
        calls.ToString().Should().NotContain(DemoWorld.SecretOf(Oa));
    }

    [Fact]
    public async Task Clock_moves_forward_only()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var before = sandbox.Running.Clock.GetUtcNow();
        var moved = await sandbox.ControlAsync("clock", new { advance_seconds = 3600 });
        moved.GetProperty("unix").GetInt64().Should().BeGreaterThanOrEqualTo(before.ToUnixTimeSeconds() + 3600);
        using var back = await sandbox.Http.PostAsync(new Uri("_sandbox/clock", UriKind.Relative), new StringContent("""{"advance_seconds":-5}""", Encoding.UTF8, "application/json"));
        back.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Users_are_created_once_and_their_ids_have_real_shapes()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var created = await sandbox.ControlAsync("users", new { name = "carol" });
        created.Str("user").Should().Be("carol");
        using var again = await sandbox.Http.PostAsync(new Uri("_sandbox/users", UriKind.Relative), new StringContent("""{"name":"carol"}""", Encoding.UTF8, "application/json"));
        again.StatusCode.Should().Be(HttpStatusCode.Conflict);
        using var bad = await sandbox.Http.PostAsync(new Uri("_sandbox/users", UriKind.Relative), new StringContent("""{"name":"a b"}""", Encoding.UTF8, "application/json"));
        bad.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await sandbox.Http.GetAsync(new Uri("_sandbox/users/nobody", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.NotFound);

        var truth = await sandbox.TruthAsync("carol");
        truth.GetProperty("openids").EnumerateObject().Should().OnlyContain(p => System.Text.RegularExpressions.Regex.IsMatch(p.Value.GetString()!, "^o[A-Za-z0-9_-]{27}$"));
        truth.GetProperty("unionids").Str("acme").Should().MatchRegex("^o[A-Za-z0-9_-]{27}$");
        truth.GetProperty("external_userids").Str(DemoWorld.Corp).Should().MatchRegex("^wm[A-Za-z0-9]{30}$");
        (await sandbox.TruthAsync("carol")).ToString().Should().Be(truth.ToString(), "ids are deterministic");
        var openids = truth.GetProperty("openids").EnumerateObject().Select(p => p.Value.GetString()).ToList();
        openids.Distinct().Should().HaveCount(openids.Count);
    }

    [Fact]
    public async Task World_can_be_read_and_replaced_and_bad_worlds_are_refused_with_a_reason()
    {
        await using var sandbox = await TestSandbox.StartAsync();
        var world = JsonDocument.Parse(await sandbox.Http.GetStringAsync(new Uri("_sandbox/world", UriKind.Relative))).RootElement;
        world.GetProperty("apps").GetArrayLength().Should().Be(7);
        world.Str("unionid_rule").Should().Be("current");
        var index = JsonDocument.Parse(await sandbox.Http.GetStringAsync(new Uri("_sandbox", UriKind.Relative))).RootElement;
        index.GetProperty("users").GetInt32().Should().Be(2);
        index.GetProperty("named_users").EnumerateArray().Select(e => e.GetString()).Should().Equal("alice", "bob");

        const string replacement = """
            {"union_spaces":[{"id":"zeta","subject":"Zeta Ltd"}],
             "apps":[{"appid":"wx1234567890abcdef","secret":"s3cret","type":"mini_program","subject":"Zeta Ltd","union_space":"zeta"}],
             "corps":[],"components":[],"unionid_rule":"legacy"}
            """;
        using var put = await sandbox.Http.PutAsync(new Uri("_sandbox/world", UriKind.Relative), new StringContent(replacement, Encoding.UTF8, "application/json"));
        put.StatusCode.Should().Be(HttpStatusCode.OK);
        (await sandbox.GetAsync("cgi-bin/token?grant_type=client_credential&appid=wx1234567890abcdef&secret=s3cret")).TryGetProperty("access_token", out _).Should().BeTrue();
        (await sandbox.GetAsync($"cgi-bin/token?grant_type=client_credential&appid={Oa}&secret={DemoWorld.SecretOf(Oa)}")).ShouldBeError(40013);

        using var badPut = await sandbox.Http.PutAsync(new Uri("_sandbox/world", UriKind.Relative), new StringContent("""{"apps":[{"appid":"nope","secret":"x"}]}""", Encoding.UTF8, "application/json"));
        badPut.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await badPut.Content.ReadAsStringAsync()).Should().Contain("appid 'nope'");
    }

    [Fact]
    public void Demo_world_is_valid_and_round_trips_through_json()
    {
        var json = JsonSerializer.Serialize(DemoWorld.Create(), SandboxJson.Options);
        json.Should().Contain("\"union_spaces\"").And.Contain("\"unionid_rule\":\"current\"").And.Contain("\"developer_appid\"");
        var parsed = WorldLoader.Parse(json);
        parsed.Apps.Should().HaveCount(7);
        parsed.Corps[0].Apps.Select(a => a.Kind).Should().Equal(CorpAppKinds.SelfBuilt, CorpAppKinds.Provider);
        FluentActions.Invoking(() => WorldLoader.Parse("""{"apps":[],"unionid_rule":"sometimes"}""")).Should().Throw<SandboxWorldException>().WithMessage("*unionid_rule*");
        FluentActions.Invoking(() => WorldLoader.Parse("{")).Should().Throw<SandboxWorldException>();
    }

    [Fact]
    public async Task Cli_refuses_a_bad_world_file_with_one_line_and_exit_code_1()
    {
        var file = Path.Combine(Path.GetTempPath(), $"oneid-bad-world-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """{"apps":[{"appid":"bad"}]}""");
        try
        {
            var cli = Path.Combine(AppContext.BaseDirectory, "oneid.dll");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in new[] { cli, "sandbox", "--port", "0", "--world", file })
            {
                start.ArgumentList.Add(arg);
            }
            using var process = Process.Start(start)!;
            var stderr = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            process.ExitCode.Should().Be(1);
            stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("oneid sandbox: apps: appid 'bad'");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
